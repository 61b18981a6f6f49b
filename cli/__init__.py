"""The roof: the `sweep` command — parse options, call a library function, print."""
