// Host program that links an export folder's generated files and prints what they hold, so
// tests/test_export.py can compare it with the .tflite and the settings given to export_model.
//
//   check_export <bytes-out-path>
//
// writes the model array to <bytes-out-path> and prints one fact per line (floats as %a, so
// they compare exactly): len, label (hex of the UTF-8 bytes), input, output, window, norm and
// arena. It needs no TFLM: op_resolver.h is compiled against the real library by the test, and
// run for real by the firmware tests (tests/test_firmware_qemu.py).
#include <cstdint>
#include <cstdio>

#include "model_data.h"
#include "model_settings.h"

namespace {

void print_tensor(const char* name, int rank, const int* shape, int elements, int bytes,
                  const char* type, bool is_int8, bool is_float32, float scale, int zero_point) {
  std::printf("%s %d", name, rank);
  for (int i = 0; i < rank; ++i) std::printf(" %d", shape[i]);
  std::printf(" %d %d %s %d %d %a %d\n", elements, bytes, type, is_int8 ? 1 : 0,
              is_float32 ? 1 : 0, static_cast<double>(scale), zero_point);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::FILE* out = std::fopen(argv[1], "wb");
  if (out == nullptr) return 3;
  std::fwrite(TINYBENCH_MODEL_DATA, 1, TINYBENCH_MODEL_DATA_LEN, out);
  std::fclose(out);
  std::printf("len %u\n", TINYBENCH_MODEL_DATA_LEN);
  std::printf("aligned %d\n", reinterpret_cast<std::uintptr_t>(TINYBENCH_MODEL_DATA) % 16 == 0);
  std::printf("name %s\n", kModelName);

  for (int i = 0; i < kLabelCount; ++i) {
    std::printf("label ");
    for (const char* p = kLabels[i]; *p != '\0'; ++p) {
      std::printf("%02x", static_cast<unsigned char>(*p));
    }
    std::printf("\n");
  }
  std::printf("labels_end %d %d\n", kLabels[kLabelCount] == nullptr, kLabelTextBytes);

  print_tensor("input", kInputRank, kInputShape, kInputElements, kInputBytes, kInputType,
               kInputIsInt8, kInputIsFloat32, kInputScale, kInputZeroPoint);
  print_tensor("output", kOutputRank, kOutputShape, kOutputElements, kOutputBytes, kOutputType,
               kOutputIsInt8, kOutputIsFloat32, kOutputScale, kOutputZeroPoint);
  std::printf("window %d %a\n", kWindowSamples, static_cast<double>(kSampleRateHz));
  std::printf("norm %d", kNormalizationCount);
  for (int i = 0; i < kNormalizationCount; ++i) {
    std::printf(" %a", static_cast<double>(kNormalizationMean[i]));
  }
  for (int i = 0; i < kNormalizationCount; ++i) {
    std::printf(" %a", static_cast<double>(kNormalizationStd[i]));
  }
  std::printf("\narena %d %d\n", kTensorArenaMeasured, kTensorArenaSize);

  return 0;
}
