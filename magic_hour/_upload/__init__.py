"""The upload engine: file inference and checks (pure), streamed bodies, the batch engine."""
