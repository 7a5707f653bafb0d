// tinybench inference loop, device side, for every board: the Arduino sketch
// (tinybench_inference.ino) and the emulated Cortex-M4 firmware (tinybench/emulate/mps2/) are
// thin glue around this one file.
//
// Portable C++14: no Arduino core, no heap, no printf. It loads the exported model into TFLM,
// answers the protocol v1 commands (? c x i v, and m where TFLM's planner is there), formats
// hello, sample, prediction, raw output
// and error lines, and quantizes live IMU windows. Everything that touches hardware goes
// through a board type `Board` with static members:
//
//   static void write(const char* data, size_t length);  // send bytes to the host
//   static int read();                 // next byte from the host, or -1 when none is waiting
//   static uint32_t micros();          // a wrapping microsecond clock
//   static bool imu_begin();           // start the IMU; false if there is none
//   static void imu_poll(float latest[6]);  // copy new readings (ax ay az gx gy gz)
//   static const char* imu_name();     // for hello and error lines ("LSM9DS1", "none")
//   static void add_hello(tinybench::LineWriter& hello);  // board-specific hello pairs
//   static tflite::MicroProfilerInterface* profiler();    // per-op profiler, or nullptr
//   static void invoked(uint32_t latency_us);  // after each successful Invoke(), before its
//                                              // p or o line (the emulator reports counts)
//
// Before including it, include tinybench_config.h-style macros (TINYBENCH_BOARD,
// TINYBENCH_RATE_HZ, TINYBENCH_HOP_SAMPLES), tinybench_protocol.h, tinybench_imu.h, the
// exported model_data.h, model_settings.h and op_resolver.h, and the TFLM headers
// micro_interpreter.h and schema_generated.h. Include it in exactly one translation unit.
// The specification of the lines is docs/protocol.md.
//
// Memory plan (command m): with the real TFLM library, the interpreter's allocator is built
// over a PlanRecorder that passes every call on to TFLM's GreedyMemoryPlanner and keeps a copy
// of each buffer's size, lifetime and offset, so `m` can report the arena as TFLM planned it.
// The arena holds exactly what MicroInterpreter's own constructor puts in it; the copy (12
// bytes a buffer) is outside. Define TINYBENCH_MEMORY_PLAN 0 to leave it out.

#ifndef TINYBENCH_INFERENCE_CORE_H_
#define TINYBENCH_INFERENCE_CORE_H_

#include <stddef.h>
#include <stdint.h>

#ifndef TINYBENCH_MEMORY_PLAN
#if defined(__has_include)
#if __has_include("tensorflow/lite/micro/memory_planner/greedy_memory_planner.h")
#define TINYBENCH_MEMORY_PLAN 1
#endif
#endif
#endif
#ifndef TINYBENCH_MEMORY_PLAN
#define TINYBENCH_MEMORY_PLAN 0
#endif

#if TINYBENCH_MEMORY_PLAN
#include <new>

#include "tensorflow/lite/micro/arena_allocator/single_arena_buffer_allocator.h"
#include "tensorflow/lite/micro/memory_helpers.h"
#include "tensorflow/lite/micro/memory_planner/greedy_memory_planner.h"
#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_arena_constants.h"
#endif

namespace tinybench {

constexpr size_t larger_size(size_t a, size_t b) { return a > b ? a : b; }

// Live inference needs a model that takes one window of IMU samples.
constexpr size_t kImuFields = tinybench_imu::kFields;
constexpr bool kLiveInput =
    kWindowSamples > 0 &&
    static_cast<size_t>(kWindowSamples) * kImuFields == static_cast<size_t>(kInputElements) &&
    (kInputIsInt8 || kInputIsFloat32);
constexpr size_t kWindowLength = kWindowSamples > 0 ? kWindowSamples : 1;

// One buffer for every line sent: hello, sample, prediction, raw output or error.
constexpr size_t kLineCapacity = larger_size(
    larger_size(384 + static_cast<size_t>(kLabelTextBytes) + sizeof(kModelName),
                values_line_capacity(larger_size(kOutputElements, kImuFields))),
    output_line_capacity(kOutputBytes));

alignas(16) static uint8_t tensor_arena[kTensorArenaSize];

#if TINYBENCH_MEMORY_PLAN
#ifndef TINYBENCH_PLAN_BUFFERS
#define TINYBENCH_PLAN_BUFFERS 128
#endif

// Stands between TFLM's MicroAllocator and its GreedyMemoryPlanner: every call goes on to the
// planner, and what it says is copied: each buffer's size and lifetime (AddBuffer, in the
// order the allocator adds them: tensors in index order, then scratch buffers), its offset
// (GetOffsetForBuffer) and the plan's peak. The planner keeps its own records in arena
// scratch that is reused after AllocateTensors(), so the plan can only be read as it is made.
class PlanRecorder : public tflite::MicroMemoryPlanner {
 public:
  struct Buffer {
    int32_t size;
    int32_t offset;
    int16_t first;
    int16_t last;
  };
  static constexpr uint32_t kCapacity = TINYBENCH_PLAN_BUFFERS;

  // What MicroAllocator::Create(arena, size) does, with this recorder as the planner: the
  // same allocations in the same order, so arena_used_bytes() does not change.
  tflite::MicroAllocator* create_allocator(uint8_t* arena, size_t arena_size) {
    uint8_t* aligned = tflite::AlignPointerUp(arena, tflite::MicroArenaBufferAlignment());
    arena_ = tflite::SingleArenaBufferAllocator::Create(
        aligned, static_cast<size_t>(arena + arena_size - aligned));
    if (arena_ == nullptr) return nullptr;
    uint8_t* memory = arena_->AllocatePersistentBuffer(sizeof(tflite::GreedyMemoryPlanner),
                                                       alignof(tflite::GreedyMemoryPlanner));
    if (memory == nullptr) return nullptr;
    planner_ = new (memory) tflite::GreedyMemoryPlanner();
    return tflite::MicroAllocator::Create(arena_, this);
  }

  TfLiteStatus Init(unsigned char* scratch, int scratch_size) override {
    count_ = dropped_ = 0;
    peak_ = 0;
    return planner_->Init(scratch, scratch_size);
  }
  TfLiteStatus AddBuffer(int size, int first_time_used, int last_time_used) override {
    record(size, first_time_used, last_time_used);
    return planner_->AddBuffer(size, first_time_used, last_time_used);
  }
  TfLiteStatus AddBuffer(int size, int first_time_used, int last_time_used,
                         int offline_offset) override {
    record(size, first_time_used, last_time_used);
    return planner_->AddBuffer(size, first_time_used, last_time_used, offline_offset);
  }
  size_t GetMaximumMemorySize() override {
    peak_ = planner_->GetMaximumMemorySize();
    return peak_;
  }
  int GetBufferCount() override { return planner_->GetBufferCount(); }
  TfLiteStatus GetOffsetForBuffer(int buffer_index, int* offset) override {
    const TfLiteStatus status = planner_->GetOffsetForBuffer(buffer_index, offset);
    if (status == kTfLiteOk && buffer_index >= 0 && static_cast<uint32_t>(buffer_index) < count_) {
      buffers_[buffer_index].offset = *offset;
    }
    return status;
  }
  void PrintMemoryPlan() override { planner_->PrintMemoryPlan(); }

  uint32_t count() const { return count_; }
  uint32_t dropped() const { return dropped_; }
  const Buffer& buffer(uint32_t i) const { return buffers_[i]; }
  size_t peak() const { return peak_; }
  size_t head() const { return arena_ != nullptr ? arena_->GetNonPersistentUsedBytes() : 0; }
  size_t tail() const { return arena_ != nullptr ? arena_->GetPersistentUsedBytes() : 0; }

 private:
  void record(int size, int first, int last) {
    if (count_ >= kCapacity) {
      ++dropped_;
      return;
    }
    buffers_[count_++] = Buffer{size, -1, static_cast<int16_t>(first), static_cast<int16_t>(last)};
  }

  tflite::SingleArenaBufferAllocator* arena_ = nullptr;
  tflite::GreedyMemoryPlanner* planner_ = nullptr;
  Buffer buffers_[kCapacity] = {};
  uint32_t count_ = 0;
  uint32_t dropped_ = 0;
  size_t peak_ = 0;
};

static PlanRecorder plan_recorder;
#endif

template <typename Board>
class InferenceSketch {
 public:
  // Call once at boot, after the board's serial port is up.
  void setup() {
    imu_ok_ = Board::imu_begin();
    load_model();
  }

  // Call over and over: reads commands, paces samples, runs live inference.
  void loop() {
    // A bounded number of command bytes per pass keeps the sample clock on time.
    for (int i = 0; i < 256; ++i) {
      const int byte = Board::read();
      if (byte < 0) break;
      const Command command = commands_.feed(static_cast<char>(byte));
      if (command.kind != CommandKind::kNone) handle(command);
    }
    if (!imu_ok_) return;
    Board::imu_poll(latest_);
    if (!streaming_ && !inferring_) return;
    const uint32_t now = Board::micros();
    const uint32_t ticks = pacer_.due(now);
    if (ticks == 0) return;
    if (streaming_) {
      sample_seq_ += ticks - 1;  // missed periods: lost samples, visible to the host as a gap
      send_line(format_sample(line_, sizeof(line_), sample_seq_++, now, latest_, kImuFields));
    }
    if (!inferring_) return;
    // Missed periods repeat the latest reading, so the window keeps its length in time.
    for (uint32_t i = 0; i < ticks && i < kWindowLength; ++i) window_.push(latest_);
    samples_since_inference_ += ticks;
    // While the hex of a v command arrives, the input tensor is not ours to overwrite.
    if (window_.full() && samples_since_inference_ >= TINYBENCH_HOP_SAMPLES &&
        !commands_.receiving_payload()) {
      samples_since_inference_ = 0;
      infer_live();
    }
  }

  void send_hello() {
    LineWriter hello(line_, sizeof(line_));
    start_hello(hello, TINYBENCH_BOARD, imu_ok_ ? "imu" : "none", TINYBENCH_RATE_HZ,
                tinybench_imu::kFieldNames, tinybench_imu::kUnits);
    add_labels(hello, kLabels, kLabelCount);
    hello.pair("imu", imu_ok_ ? Board::imu_name() : "none");
    hello.pair("sketch", "inference").pair("model", kModelName);
    hello.pair("window", static_cast<uint32_t>(kWindowSamples));
    hello.pair("input_bytes", static_cast<uint32_t>(kInputBytes));
    hello.pair("arena", static_cast<uint32_t>(kTensorArenaSize));
    if (interpreter_ != nullptr) {
      hello.pair("arena_used", static_cast<uint32_t>(interpreter_->arena_used_bytes()));
    }
    hello.pair("model_ok", interpreter_ != nullptr ? "1" : "0");
    Board::add_hello(hello);
    send_line(hello.finish());
    if (model_error_ != nullptr) send_error(model_error_, nullptr);
  }

  bool model_ok() const { return interpreter_ != nullptr; }

 private:
  void send_line(size_t length) {
    if (length > 0) Board::write(line_, length);
  }

  void send_error(const char* message, const char* detail) {
    send_line(format_error(line_, sizeof(line_), message, detail));
  }

  void load_model() {
    const tflite::Model* model = tflite::GetModel(TINYBENCH_MODEL_DATA);
    if (model->version() != TFLITE_SCHEMA_VERSION) {
      model_error_ = "the model's schema version does not match the TFLM library's; export it "
                     "with the converter of the pinned TensorFlow";
      return;
    }
    static ModelOpResolver resolver;
    if (RegisterModelOps(resolver) != kTfLiteOk) {
      model_error_ = "registering the model's ops failed; export the model again";
      return;
    }
#if TINYBENCH_MEMORY_PLAN
    tflite::MicroAllocator* allocator =
        plan_recorder.create_allocator(tensor_arena, kTensorArenaSize);
    if (allocator == nullptr) {
      model_error_ = "the tensor arena (kTensorArenaSize) is too small for TFLM's allocator; "
                     "export again with a larger arena_margin";
      return;
    }
    static tflite::MicroInterpreter interpreter(model, resolver, allocator, nullptr,
                                                Board::profiler());
#else
    static tflite::MicroInterpreter interpreter(model, resolver, tensor_arena, kTensorArenaSize,
                                                nullptr, Board::profiler());
#endif
    if (interpreter.AllocateTensors() != kTfLiteOk) {
      model_error_ = "AllocateTensors() failed: the tensor arena (kTensorArenaSize) is too "
                     "small for this board's kernels; export again with a larger arena_margin";
      return;
    }
    input_ = interpreter.input(0);
    output_ = interpreter.output(0);
    if (input_ == nullptr || output_ == nullptr ||
        input_->bytes != static_cast<size_t>(kInputBytes) ||
        output_->bytes != static_cast<size_t>(kOutputBytes)) {
      model_error_ = "the model's tensors do not match model_settings.h; export the model and "
                     "render the sketch again";
      return;
    }
    interpreter_ = &interpreter;
    commands_.set_payload_buffer(input_->data.uint8, input_->bytes);
  }

  float output_value(size_t index) const {
    switch (output_->type) {
      case kTfLiteInt8:
        return dequantize_int8(output_->data.int8[index], output_->params.scale,
                               output_->params.zero_point);
      case kTfLiteUInt8:
        return (static_cast<int32_t>(output_->data.uint8[index]) - output_->params.zero_point) *
               output_->params.scale;
      case kTfLiteInt16:
        return (static_cast<int32_t>(output_->data.i16[index]) - output_->params.zero_point) *
               output_->params.scale;
      case kTfLiteFloat32:
        return output_->data.f[index];
      default:
        return 0.0f;
    }
  }

  // Runs the model on the latest window and sends a p line.
  void infer_live() {
    if (kInputIsInt8) {
      quantize_window(window_, kNormalizationMean, kNormalizationStd, kNormalizationCount,
                      input_->params.scale, input_->params.zero_point, input_->data.int8);
    } else {
      normalize_window(window_, kNormalizationMean, kNormalizationStd, kNormalizationCount,
                       input_->data.f);
    }
    const uint32_t start = Board::micros();
    const TfLiteStatus status = interpreter_->Invoke();
    const uint32_t latency = Board::micros() - start;
    if (status != kTfLiteOk) {
      send_error("Invoke() failed on the live window", nullptr);
      return;
    }
    Board::invoked(latency);
    LineWriter prediction(line_, sizeof(line_));
    prediction.text("p,").unsigned_number(prediction_seq_++).put(',').unsigned_number(latency);
    for (size_t i = 0; i < static_cast<size_t>(kOutputElements); ++i) {
      prediction.put(',').fixed(output_value(i), 4);
    }
    send_line(prediction.finish());
  }

  // Answers v <hex>: the payload is already in the input tensor.
  void validate(size_t payload_length) {
    if (interpreter_ == nullptr) {
      send_error("no model is loaded: ", model_error_);
      return;
    }
    if (payload_length != input_->bytes) {
      LineWriter error(line_, sizeof(line_));
      error.text("!v needs ").unsigned_number(input_->bytes).text(" bytes of input (");
      error.unsigned_number(2 * input_->bytes).text(" hex digits), got ");
      error.unsigned_number(payload_length);
      send_line(error.finish());
      return;
    }
    const uint32_t start = Board::micros();
    const TfLiteStatus status = interpreter_->Invoke();
    const uint32_t latency = Board::micros() - start;
    if (status != kTfLiteOk) {
      send_error("Invoke() failed on the v input", nullptr);
      return;
    }
    Board::invoked(latency);
    send_line(format_output(line_, sizeof(line_), output_seq_++, output_->data.uint8,
                            output_->bytes));
  }

  // Answers m: `#plan index,offset,size,first,last` per planned buffer, then `#plan end …`.
  void send_plan() {
#if TINYBENCH_MEMORY_PLAN
    if (interpreter_ == nullptr) {
      send_error("no model is loaded: ", model_error_);
      return;
    }
    for (uint32_t i = 0; i < plan_recorder.count(); ++i) {
      const PlanRecorder::Buffer& buffer = plan_recorder.buffer(i);
      LineWriter line(line_, sizeof(line_));
      line.text("#plan ").unsigned_number(i).put(',').signed_number(buffer.offset);
      line.put(',').signed_number(buffer.size).put(',').signed_number(buffer.first);
      line.put(',').signed_number(buffer.last);
      send_line(line.finish());
    }
    LineWriter end(line_, sizeof(line_));
    end.text("#plan end");
    end.pair("peak", static_cast<uint32_t>(plan_recorder.peak()));
    end.pair("head", static_cast<uint32_t>(plan_recorder.head()));
    end.pair("tail", static_cast<uint32_t>(plan_recorder.tail()));
    end.pair("total", static_cast<uint32_t>(interpreter_->arena_used_bytes()));
    end.pair("buffers", plan_recorder.count()).pair("dropped", plan_recorder.dropped());
    send_line(end.finish());
#else
    send_error("this build keeps no memory plan: m needs the TFLM library's GreedyMemoryPlanner",
               nullptr);
#endif
  }

  void start_sampling() {
    if (!streaming_ && !inferring_) pacer_.start(Board::micros());
  }

  void start_inference() {
    if (interpreter_ == nullptr) {
      send_error("no model is loaded: ", model_error_);
    } else if (!kLiveInput) {
      send_error("live inference needs a model input of one window of 6 IMU values per "
                 "sample (kWindowSamples x 6); this model's input does not match, so use "
                 "v <hex>",
                 nullptr);
    } else if (!imu_ok_) {
      LineWriter error(line_, sizeof(line_));
      error.text("!the ").message(Board::imu_name());
      error.text(" IMU did not start, so there is no live data; use v <hex>");
      send_line(error.finish());
    } else if (!inferring_) {
      start_sampling();
      inferring_ = true;
      window_.clear();
      samples_since_inference_ = 0;
    }
  }

  void start_streaming() {
    if (!imu_ok_) {
      LineWriter error(line_, sizeof(line_));
      error.text("!the ").message(Board::imu_name()).text(" IMU did not start, so there is ");
      error.text("nothing to stream; if this is a Nano 33 BLE Sense Rev2, render the sketch ");
      error.text("for board nano33ble_rev2 (rev1 is nano33ble)");
      send_line(error.finish());
      return;
    }
    start_sampling();
    streaming_ = true;
  }

  void handle(const Command& command) {
    switch (command.kind) {
      case CommandKind::kHello:
        send_hello();
        break;
      case CommandKind::kStream:
        start_streaming();
        break;
      case CommandKind::kStop:
        streaming_ = false;
        inferring_ = false;
        break;
      case CommandKind::kInfer:
        start_inference();
        break;
      case CommandKind::kValidate:
        validate(command.payload_length);
        break;
      case CommandKind::kPlan:
        send_plan();
        break;
      case CommandKind::kError:
        send_error(command.error, nullptr);
        break;
      default:
        break;
    }
  }

  tflite::MicroInterpreter* interpreter_ = nullptr;
  TfLiteTensor* input_ = nullptr;
  TfLiteTensor* output_ = nullptr;
  const char* model_error_ = nullptr;

  CommandReader commands_;
  SampleWindow<kImuFields, kWindowLength> window_;
  Pacer pacer_{period_us(TINYBENCH_RATE_HZ)};
  char line_[kLineCapacity];
  float latest_[kImuFields] = {};
  bool imu_ok_ = false;
  bool streaming_ = false;
  bool inferring_ = false;
  uint32_t sample_seq_ = 0;
  uint32_t prediction_seq_ = 0;
  uint32_t output_seq_ = 0;
  uint32_t samples_since_inference_ = 0;
};

}  // namespace tinybench

#endif  // TINYBENCH_INFERENCE_CORE_H_
