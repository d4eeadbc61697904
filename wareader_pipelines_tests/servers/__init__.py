"""Real servers on 127.0.0.1 for tests: each module is a pytest plugin of fixtures."""
