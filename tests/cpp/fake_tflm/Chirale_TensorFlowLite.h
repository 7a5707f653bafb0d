// Test stand-in for the Chirale_TensorFLowLite library's main header (nothing to declare).
#ifndef TINYBENCH_FAKE_CHIRALE_TENSORFLOWLITE_H_
#define TINYBENCH_FAKE_CHIRALE_TENSORFLOWLITE_H_
#endif
