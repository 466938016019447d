"""Stage 4, small-sample tests of one model term, their calibration by simulation,
inference for few clusters, and what coverage allows one to say."""
