"""The landing zone: its key layout, reading one time window into the raw tables, and which runs new files need."""
