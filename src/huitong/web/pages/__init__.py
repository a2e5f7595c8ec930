"""One module per role's pages; each route stays thin and calls domain services."""
