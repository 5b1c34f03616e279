"""Test settings: the project's own, with DEBUG's development switches (plain-HTTP cookies, the
public development key) that a test run over http://testserver needs."""

import os

os.environ["DEBUG"] = "true"

from labeler.settings import *  # noqa: F403
