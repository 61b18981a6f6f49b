"""Ground floor: the SQLite store — connection, migrations, listings, states, search, accounts, metrics."""
