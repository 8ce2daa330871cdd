"""One module of exercise checks per lesson (``lesson00``, ``lesson01``, ...)."""
