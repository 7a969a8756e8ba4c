from harness.cli import main

# Guarded: worker processes (--jobs) start by importing the parent's main module.
if __name__ == "__main__":
    raise SystemExit(main())
