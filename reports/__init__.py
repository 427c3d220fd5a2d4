"""Documents rendered by L2G: award letters and the packages built from them."""
