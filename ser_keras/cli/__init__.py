"""Console scripts of stage 2: ``ser-train`` (cli.train) and ``ser-report`` (cli.report)."""
