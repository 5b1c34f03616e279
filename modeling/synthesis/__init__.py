"""Synthetic transactions: conditional tabular generators (a VAE and a WGAN-GP), chosen on
measured fidelity, and the fidelity / utility / privacy report that goes beside their rows."""
