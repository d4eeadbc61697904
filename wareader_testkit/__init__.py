"""What the tests and the benchmarks share, so that neither imports the other: the landing-zone
generator, the fake LLM server, the business-marts comparison and the loopback helpers that
let a server bind a port the OS picks. It imports neither `wareader_pipelines_tests` nor
`benchmarks` (checked by lint-imports), and it is not part of the installed package."""
