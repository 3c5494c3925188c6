"""Offline shim: re-export the native Java rules (nothing in peerlink is Java; Bazel's own tools ask for it)."""

java_binary = native.java_binary
java_library = native.java_library
java_import = native.java_import
java_test = native.java_test
java_toolchain = native.java_toolchain
java_runtime = native.java_runtime
java_plugin = native.java_plugin
