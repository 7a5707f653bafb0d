// UART0, TIMER0, DebugLog and the clock TFLM asks for, on QEMU's mps2-an386.
// See mps2_board.h for the timing basis.

#include "mps2_board.h"

#include "peripherals/utility.h"

namespace mps2 {
namespace {

constexpr uint32_t kTxFull = 1u << 0;
constexpr uint32_t kRxFull = 1u << 1;
constexpr uint32_t kRxInterrupt = 1u << 1;

uint32_t last_value = 0xFFFFFFFFu;
uint64_t elapsed = 0;

}  // namespace

void board_init() {
  CmsdkUart* uart = uart0();
  uart->bauddiv = 16;
  uart->ctrl = (1u << 0) | (1u << 1) | (1u << 3);
  CmsdkTimer* timer = timer0();
  timer->ctrl = 0;
  timer->reload = 0xFFFFFFFFu;
  timer->value = 0xFFFFFFFFu;
  last_value = 0xFFFFFFFFu;
  timer->ctrl = 1;
  // Interrupts stay masked (PRIMASK): a pending UART interrupt only ends a WFI.
  __asm volatile("cpsid i" ::: "memory");
  *nvic_iser0() = 1u << kUart0RxIrq;
}

void uart_write(const char* data, size_t length) {
  CmsdkUart* uart = uart0();
  for (size_t i = 0; i < length; ++i) {
    while (uart->state & kTxFull) {
    }
    uart->data = static_cast<uint8_t>(data[i]);
  }
}

int uart_read() {
  CmsdkUart* uart = uart0();
  if ((uart->state & kRxFull) == 0) return -1;
  return static_cast<int>(uart->data & 0xFFu);
}

void wait_for_input() {
  CmsdkUart* uart = uart0();
  uart->intstatus = kRxInterrupt;
  *nvic_icpr0() = 1u << kUart0RxIrq;
  if ((uart->state & kRxFull) == 0) __asm volatile("wfi" ::: "memory");
}

uint64_t ticks() {
  const uint32_t value = timer0()->value;
  elapsed += static_cast<uint32_t>(last_value - value);  // counts down; wraps every 171 s
  last_value = value;
  return elapsed;
}

}  // namespace mps2

namespace peripherals {

uint32_t MicrosecondsCounter() {
  return static_cast<uint32_t>(mps2::ticks() / mps2::kTicksPerMicrosecond);
}

uint32_t MillisecondsCounter() {
  return static_cast<uint32_t>(mps2::ticks() / (1000u * mps2::kTicksPerMicrosecond));
}

}  // namespace peripherals

// TFLM's log: MicroPrintf() sends a message, then "\r\n". Each message goes to the host as a
// `#tflm <text>` comment line, which the host's parser counts and drops.
extern "C" void DebugLog(const char* s) {
  static char buffer[200];
  static size_t length = 0;
  for (; *s != '\0'; ++s) {
    const bool end = *s == '\n' || *s == '\r';
    if (!end && length < sizeof(buffer) - 1) {
      const char c = *s;
      buffer[length++] = (c >= 0x20 && c < 0x7F && c != '*') ? c : '_';
    }
    if (end && length > 0) {
      mps2::uart_write("#tflm ", 6);
      mps2::uart_write(buffer, length);
      mps2::uart_write("\n", 1);
      length = 0;
    }
  }
}
