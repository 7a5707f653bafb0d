// Test stand-in for TensorFlow Lite's schema: GetModel() and the schema version only.
#ifndef TINYBENCH_FAKE_SCHEMA_GENERATED_H_
#define TINYBENCH_FAKE_SCHEMA_GENERATED_H_

#include <stdint.h>
#include <string.h>

#define TFLITE_SCHEMA_VERSION (3)

namespace tflite {

// Reads the flatbuffer's root table far enough to return Model.version, as the real one does.
class Model {
 public:
  uint32_t version() const {
    const uint8_t* base = reinterpret_cast<const uint8_t*>(this);
    int32_t vtable_offset;
    memcpy(&vtable_offset, base, 4);
    const uint8_t* vtable = base - vtable_offset;
    uint16_t vtable_size, field;
    memcpy(&vtable_size, vtable, 2);
    if (vtable_size <= 4) return 0;
    memcpy(&field, vtable + 4, 2);
    if (field == 0) return 0;
    uint32_t value;
    memcpy(&value, base + field, 4);
    return value;
  }
};

inline const Model* GetModel(const void* buffer) {
  const uint8_t* bytes = static_cast<const uint8_t*>(buffer);
  uint32_t root;
  memcpy(&root, bytes, 4);
  return reinterpret_cast<const Model*>(bytes + root);
}

}  // namespace tflite

#endif  // TINYBENCH_FAKE_SCHEMA_GENERATED_H_
