"""The benchmarks and experiments (run each as ``python -m benchmarks.<script>``); their shared
parts are in ``benchmarks.lib``. Not part of the installed package."""
