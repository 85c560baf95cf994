"""Each feature's act in `opsbot demo`: what people do, played against the sandbox."""
