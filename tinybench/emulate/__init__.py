"""Emulated boards for firmware in the loop.

Firmware is built with real cross-compilers and the real TFLM library and run in an emulator
(QEMU for the Cortex-M4), reachable over a pty like a board on USB.
"""
