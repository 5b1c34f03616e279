"""Every write and business rule of fraudloop, as plain functions named <entity>_<action>."""
