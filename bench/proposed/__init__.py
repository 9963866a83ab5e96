"""Changes to code outside the benchmark's files, prototyped here so they can be measured
(`bench/run.py --with-proposed`) before the lead moves them to their real place."""
