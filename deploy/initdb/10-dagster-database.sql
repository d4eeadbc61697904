-- Dagster's own tables live in a database of their own, apart from the warehouse.
CREATE DATABASE dagster OWNER wareader;
