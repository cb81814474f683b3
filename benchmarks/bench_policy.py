"""Same as `grasplab bench policy --model M --data D` (prints a table; --json for JSON). Record results in BENCHMARKS.md."""
import sys

from grasplab.cli import main

if __name__ == "__main__":
    main(["bench", "policy", *sys.argv[1:]])
