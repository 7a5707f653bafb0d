// Test stand-in for tflite::MicroInterpreter, so tinybench's inference sketch runs on the host.
//
// It does not run the model. Its tensors have the sizes and types the test passes as macros
// (TB_FAKE_INPUT_BYTES, TB_FAKE_OUTPUT_BYTES, TB_FAKE_INPUT_TYPE, TB_FAKE_OUTPUT_TYPE, the
// quantization as TB_FAKE_*_SCALE / _ZERO_POINT) and lives in the arena the sketch gives it.
// AllocateTensors() fails when the arena is smaller than TB_FAKE_ARENA_NEEDED. Invoke() fills
// the output with a checksum-like function of the input that tests/test_sketch.py recomputes:
// output byte i = (sum over j of input[j] * (j + 1) + 31 * i) mod 256.
#ifndef TINYBENCH_FAKE_MICRO_INTERPRETER_H_
#define TINYBENCH_FAKE_MICRO_INTERPRETER_H_

#include <stddef.h>
#include <stdint.h>

#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#ifndef TB_FAKE_ARENA_NEEDED
#define TB_FAKE_ARENA_NEEDED 0
#endif

namespace tflite {

class MicroResourceVariables;

// The real interface: the sketch passes its board's profiler (nullptr on Arduino boards).
class MicroProfilerInterface {
 public:
  virtual ~MicroProfilerInterface() {}
  virtual uint32_t BeginEvent(const char* tag) = 0;
  virtual void EndEvent(uint32_t event_handle) = 0;
};

class MicroInterpreter {
 public:
  MicroInterpreter(const Model* model, const MicroOpResolver& resolver, uint8_t* arena,
                   size_t arena_size, MicroResourceVariables* resource_variables = nullptr,
                   MicroProfilerInterface* profiler = nullptr)
      : model_(model), resolver_(resolver), arena_(arena), arena_size_(arena_size) {
    (void)resource_variables;
    (void)profiler;
  }

  TfLiteStatus AllocateTensors() {
    size_t needed = TB_FAKE_ARENA_NEEDED;
    if (needed < TB_FAKE_INPUT_BYTES + TB_FAKE_OUTPUT_BYTES) {
      needed = TB_FAKE_INPUT_BYTES + TB_FAKE_OUTPUT_BYTES;
    }
    if (model_ == nullptr || resolver_.registration_count() == 0 || arena_size_ < needed) {
      return kTfLiteError;
    }
    input_ = TfLiteTensor{TB_FAKE_INPUT_TYPE, {}, {TB_FAKE_INPUT_SCALE, TB_FAKE_INPUT_ZERO_POINT},
                          TB_FAKE_INPUT_BYTES};
    input_.data.uint8 = arena_;
    output_ = TfLiteTensor{TB_FAKE_OUTPUT_TYPE, {},
                           {TB_FAKE_OUTPUT_SCALE, TB_FAKE_OUTPUT_ZERO_POINT},
                           TB_FAKE_OUTPUT_BYTES};
    output_.data.uint8 = arena_ + TB_FAKE_INPUT_BYTES;
    allocated_ = true;
    return kTfLiteOk;
  }

  TfLiteStatus Invoke() {
    if (!allocated_) return kTfLiteError;
    uint32_t sum = 0;
    for (size_t j = 0; j < input_.bytes; ++j) sum += input_.data.uint8[j] * (j + 1);
    for (size_t i = 0; i < output_.bytes; ++i) {
      output_.data.uint8[i] = static_cast<uint8_t>((sum + 31 * i) & 0xFF);
    }
    return kTfLiteOk;
  }

  TfLiteTensor* input(size_t index) { return index == 0 && allocated_ ? &input_ : nullptr; }
  TfLiteTensor* output(size_t index) { return index == 0 && allocated_ ? &output_ : nullptr; }
  size_t arena_used_bytes() const {
    return allocated_ ? TB_FAKE_INPUT_BYTES + TB_FAKE_OUTPUT_BYTES : 0;
  }

 private:
  const Model* model_;
  const MicroOpResolver& resolver_;
  uint8_t* arena_;
  size_t arena_size_;
  bool allocated_ = false;
  TfLiteTensor input_{};
  TfLiteTensor output_{};
};

}  // namespace tflite

#endif  // TINYBENCH_FAKE_MICRO_INTERPRETER_H_
