"""Ground floor: configuration, the clock, errors and display-safe text — imports nothing from Sweep."""
