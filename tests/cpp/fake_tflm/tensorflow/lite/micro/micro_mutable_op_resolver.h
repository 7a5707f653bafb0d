// Test stand-in for tflite::MicroMutableOpResolver<N>: every Add method of the real class (the
// list follows tinybench.tflite_model's table; tests/test_export.py checks they agree). Like
// the real one, it refuses more than N registrations and the same op twice. It records the
// registrations so tests can compare them with the model's ops.
#ifndef TINYBENCH_FAKE_MICRO_MUTABLE_OP_RESOLVER_H_
#define TINYBENCH_FAKE_MICRO_MUTABLE_OP_RESOLVER_H_

#include <string.h>

#include "tensorflow/lite/c/common.h"

namespace tflite {

class MicroOpResolver {
 public:
  virtual ~MicroOpResolver() = default;
  virtual int registration_count() const = 0;
  virtual const char* registration(int index) const = 0;
};

#define TINYBENCH_FAKE_RESOLVER_METHODS(X) \
  X(Abs) \
  X(Add) \
  X(AddN) \
  X(ArgMax) \
  X(ArgMin) \
  X(AssignVariable) \
  X(AveragePool2D) \
  X(BatchMatMul) \
  X(BatchToSpaceNd) \
  X(BroadcastArgs) \
  X(BroadcastTo) \
  X(CallOnce) \
  X(Cast) \
  X(Ceil) \
  X(CircularBuffer) \
  X(Concatenation) \
  X(Conv2D) \
  X(Cos) \
  X(CumSum) \
  X(DepthToSpace) \
  X(DepthwiseConv2D) \
  X(Dequantize) \
  X(DetectionPostprocess) \
  X(Div) \
  X(DynamicUpdateSlice) \
  X(Elu) \
  X(EmbeddingLookup) \
  X(Equal) \
  X(Exp) \
  X(ExpandDims) \
  X(Fill) \
  X(Floor) \
  X(FloorDiv) \
  X(FloorMod) \
  X(FullyConnected) \
  X(Gather) \
  X(GatherNd) \
  X(Greater) \
  X(GreaterEqual) \
  X(HardSwish) \
  X(If) \
  X(L2Normalization) \
  X(L2Pool2D) \
  X(LeakyRelu) \
  X(Less) \
  X(LessEqual) \
  X(Log) \
  X(LogSoftmax) \
  X(LogicalAnd) \
  X(LogicalNot) \
  X(LogicalOr) \
  X(Logistic) \
  X(MaxPool2D) \
  X(Maximum) \
  X(Mean) \
  X(Minimum) \
  X(MirrorPad) \
  X(Mul) \
  X(Neg) \
  X(NotEqual) \
  X(Pack) \
  X(Pad) \
  X(PadV2) \
  X(Prelu) \
  X(Quantize) \
  X(ReadVariable) \
  X(ReduceMax) \
  X(ReduceMin) \
  X(Relu) \
  X(Relu6) \
  X(Reshape) \
  X(ResizeBilinear) \
  X(ResizeNearestNeighbor) \
  X(ReverseV2) \
  X(Round) \
  X(Rsqrt) \
  X(SelectV2) \
  X(Shape) \
  X(Sin) \
  X(Slice) \
  X(Softmax) \
  X(SpaceToBatchNd) \
  X(SpaceToDepth) \
  X(Split) \
  X(SplitV) \
  X(Sqrt) \
  X(Square) \
  X(SquaredDifference) \
  X(Squeeze) \
  X(StridedSlice) \
  X(Sub) \
  X(Sum) \
  X(Svdf) \
  X(Tanh) \
  X(Transpose) \
  X(TransposeConv) \
  X(UnidirectionalSequenceLSTM) \
  X(Unpack) \
  X(VarHandle) \
  X(While) \
  X(ZerosLike)

template <unsigned int tOpCount>
class MicroMutableOpResolver : public MicroOpResolver {
 public:
#define TINYBENCH_FAKE_ADD(op) \
  TfLiteStatus Add##op() { return Register(#op); }
  TINYBENCH_FAKE_RESOLVER_METHODS(TINYBENCH_FAKE_ADD)
#undef TINYBENCH_FAKE_ADD

  int registration_count() const override { return count_; }
  const char* registration(int index) const override { return names_[index]; }

 private:
  TfLiteStatus Register(const char* name) {
    if (count_ >= static_cast<int>(tOpCount)) return kTfLiteError;
    for (int i = 0; i < count_; ++i) {
      if (strcmp(names_[i], name) == 0) return kTfLiteError;
    }
    names_[count_++] = name;
    return kTfLiteOk;
  }

  const char* names_[tOpCount > 0 ? tOpCount : 1] = {};
  int count_ = 0;
};

}  // namespace tflite

#endif  // TINYBENCH_FAKE_MICRO_MUTABLE_OP_RESOLVER_H_
