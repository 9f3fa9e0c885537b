"""One module per operation: unpack the input, call one service, map its outcome."""
