"""Same as `grasplab bench synth` (prints a table; --json for JSON). Record results in BENCHMARKS.md."""
import sys

from grasplab.cli import main

if __name__ == "__main__":
    main(["bench", "synth", *sys.argv[1:]])
