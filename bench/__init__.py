"""Load benchmark of the full assistant against a stock `rasa init` bot (`make benchmark`)."""
