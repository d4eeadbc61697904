"""The `wareader` command: the sample run, the report it prints, and the analyst helpers."""
