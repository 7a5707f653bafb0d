// The emulated board under tinybench's Cortex-M4 firmware: QEMU's mps2-an386 (a Cortex-M4F
// with ARM's CMSDK peripherals). Only what the firmware needs: UART0 for the protocol and
// TIMER0 as a clock. Startup code and the linker script come from picolibc
// (--specs=picolibcpp.specs), so there is no vector table or reset handler here.
//
// Timing: QEMU runs with -icount shift=0, so every guest instruction advances virtual time by
// exactly 1 ns. TIMER0 counts down at the 25 MHz APB clock, one tick per 40 instructions; a
// tick count is therefore an instruction count to within 40 instructions, and
// ticks / 25 is emulated microseconds.

#ifndef TINYBENCH_MPS2_BOARD_H_
#define TINYBENCH_MPS2_BOARD_H_

#include <stddef.h>
#include <stdint.h>

namespace mps2 {

constexpr uint32_t kTicksPerMicrosecond = 25;   // TIMER0 at the 25 MHz APB clock
constexpr uint32_t kInstructionsPerTick = 40;   // 1 ns per instruction under -icount shift=0

struct CmsdkUart {
  volatile uint32_t data;       // 0x00
  volatile uint32_t state;      // 0x04: bit 0 TX full, bit 1 RX full
  volatile uint32_t ctrl;       // 0x08: bit 0 TX enable, bit 1 RX enable, bit 3 RX interrupt
  volatile uint32_t intstatus;  // 0x0C: write 1s to clear
  volatile uint32_t bauddiv;    // 0x10
};

struct CmsdkTimer {
  volatile uint32_t ctrl;       // 0x00: bit 0 enable
  volatile uint32_t value;      // 0x04: counts down
  volatile uint32_t reload;     // 0x08
  volatile uint32_t intstatus;  // 0x0C
};

inline CmsdkUart* uart0() { return reinterpret_cast<CmsdkUart*>(0x40004000u); }
inline CmsdkTimer* timer0() { return reinterpret_cast<CmsdkTimer*>(0x40000000u); }

// NVIC set-enable and clear-pending registers; UART0's RX interrupt is IRQ 0 on the AN386.
inline volatile uint32_t* nvic_iser0() { return reinterpret_cast<volatile uint32_t*>(0xE000E100u); }
inline volatile uint32_t* nvic_icpr0() { return reinterpret_cast<volatile uint32_t*>(0xE000E280u); }
constexpr uint32_t kUart0RxIrq = 0;

// Enables UART0 (TX, RX and its RX interrupt, used only to wake from WFI) and starts TIMER0.
void board_init();

// Sends bytes, waiting while the transmitter is full.
void uart_write(const char* data, size_t length);

// The next received byte, or -1 when none is waiting.
int uart_read();

// Sleeps until the UART has a byte (WFI with interrupts masked: it wakes, nothing runs).
void wait_for_input();

// TIMER0 ticks since board_init(), 64 bits so it never wraps in practice.
uint64_t ticks();

}  // namespace mps2

#endif  // TINYBENCH_MPS2_BOARD_H_
