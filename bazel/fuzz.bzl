"""libFuzzer targets that also run their seed corpus as ordinary tests.

pl_fuzz_target(name = "x", srcs = ["x.c"], deps = [...], corpus = "corpus/x") makes
  :x_regression  a cc_test (gcc, every `make test`) feeding each corpus file to
                 LLVMFuzzerTestOneInput through tests/fuzz/fuzz_main.c;
  :x             the libFuzzer binary, built only by `make fuzz` (clang, --config=fuzz).
"""

def pl_fuzz_target(name, srcs, deps = [], corpus = None):
    corpus = corpus or ("corpus/" + name)
    native.cc_test(
        name = name + "_regression",
        srcs = srcs + ["//tests/fuzz:fuzz_main.c"],
        deps = deps,
        # Tests run from the runfiles root, where the corpus keeps its workspace path.
        args = [native.package_name() + "/" + corpus],
        data = native.glob([corpus + "/**"]),
        size = "small",
    )
    native.cc_binary(
        name = name,
        srcs = srcs,
        deps = deps,
        linkopts = ["-fsanitize=fuzzer"],
        tags = ["manual", "fuzz"],
    )
