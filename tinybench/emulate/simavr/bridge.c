/*
 * tinybench simavr bridge: runs an Arduino Uno sketch (ATmega328P ELF) in simavr, serves its
 * UART0 on a pseudo-terminal and feeds its ADC channels from a file of millivolt rows.
 *
 * Built and run by tinybench.emulate.avr (gcc against Debian's libsimavr-dev). Usage:
 *
 *   bridge FIRMWARE.elf [--mcu atmega328p] [--freq 16000000] [--vcc 5000] [--avcc 5000]
 *          [--aref 5000] [--adc FILE] [--adc-rate HZ] [--speed 1.0] [--boot-ms 1000]
 *          [--no-reset-on-open]
 *
 * On start it prints one line, "pty /dev/pts/N", on stdout, then nothing else there; logs go
 * to stderr. It runs until SIGTERM or SIGINT.
 *
 * What it emulates around the chip:
 * - Reset on open. On a real Uno, opening the port raises DTR, whose edge resets the ATmega
 *   through a capacitor; optiboot then waits about 1 s before it starts the sketch. Here the
 *   bridge watches the pty: when a program opens it (the slave side stops reporting hang-up),
 *   the chip is held in reset for --boot-ms, then reset and started. Bytes the host sends
 *   during that time are dropped, as optiboot consumes them; like optiboot, which starts the
 *   sketch through a 16 ms watchdog reset when it reads something that is not an STK500
 *   command, the first such byte shortens the remaining wait to 16 ms. While no program has
 *   the port open, the chip keeps running and what it sends is discarded.
 * - The ADC. Each line of --adc holds the millivolts on ADC0..ADCn-1 (up to 8 numbers,
 *   blank- or comma-separated); row k applies from k / --adc-rate seconds after the last reset
 *   until the next row; the last row holds. Each conversion samples its channel when it
 *   starts, as the ATmega's sample-and-hold does. Without --adc every channel reads 0 mV.
 *   simavr converts as ADC = mV * 1023 / Vref (integer division); the datasheet's formula
 *   divides by 1024 instead, so simavr reads up to mV/Vref of a step (under one step) low.
 * - Time. The simulation is paced to --speed times real time (0: as fast as it runs), so
 *   micros() on the chip and the host's clock agree, and baud-rate timing is the chip's own.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <simavr/avr_adc.h>
#include <simavr/avr_uart.h>
#include <simavr/sim_avr.h>
#include <simavr/sim_elf.h>

#define MAX_CHANNELS 8
#define RING_SIZE 65536
#define OPTIBOOT_WATCHDOG_MS 16

struct ring {
  uint8_t data[RING_SIZE];
  size_t head, tail;  /* head: next write, tail: next read */
};

static size_t ring_used(const struct ring *r) { return (r->head - r->tail) & (RING_SIZE - 1); }
static int ring_put(struct ring *r, uint8_t b) {
  if (ring_used(r) == RING_SIZE - 1) return 0;
  r->data[r->head] = b;
  r->head = (r->head + 1) & (RING_SIZE - 1);
  return 1;
}

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static struct {
  avr_t *avr;
  int master;
  int connected;     /* a program has the pty open */
  int xoff;          /* the chip's UART input fifo is full */
  struct ring to_host, to_chip;
  uint32_t *adc_rows; /* rows x MAX_CHANNELS millivolts */
  size_t adc_count;
  double adc_rate;
  avr_cycle_count_t reset_cycle;
  uint64_t bytes_out, bytes_in, dropped_out, resets, conversions;
} bridge;

static void logger(avr_t *avr, const int level, const char *format, va_list ap) {
  (void)avr;
  if (level <= LOG_WARNING) vfprintf(stderr, format, ap);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void uart_output(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)param;
  if (!bridge.connected) return;  /* nobody listening: the bytes go nowhere */
  if (ring_put(&bridge.to_host, (uint8_t)value)) {
    ++bridge.bytes_out;
  } else {
    ++bridge.dropped_out;
  }
}

static void uart_xon(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)value;
  (void)param;
  bridge.xoff = 0;
}

static void uart_xoff(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)value;
  (void)param;
  bridge.xoff = 1;
}

/* A conversion starts: put the fed voltage of its channel, at this instant, on the pin. */
static void adc_trigger(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)param;
  union {
    avr_adc_mux_t mux;
    uint32_t v;
  } e = {.v = value};
  if (e.mux.kind != ADC_MUX_SINGLE || e.mux.src >= MAX_CHANNELS || bridge.adc_count == 0) return;
  const double seconds =
      (double)(bridge.avr->cycle - bridge.reset_cycle) / (double)bridge.avr->frequency;
  size_t row = (size_t)(seconds * bridge.adc_rate);
  if (row >= bridge.adc_count) row = bridge.adc_count - 1;
  ++bridge.conversions;
  avr_raise_irq(avr_io_getirq(bridge.avr, AVR_IOCTL_ADC_GETIRQ, e.mux.src),
                bridge.adc_rows[row * MAX_CHANNELS + e.mux.src]);
}

static int load_adc(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "bridge: cannot open --adc %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t capacity = 1024;
  bridge.adc_rows = calloc(capacity * MAX_CHANNELS, sizeof(uint32_t));
  char line[512];
  size_t number = 0;
  while (fgets(line, sizeof(line), f)) {
    ++number;
    char *p = line;
    while (*p == ' ' || *p == '\t') ++p;
    if (*p == '#' || *p == '\n' || *p == '\0') continue;
    if (bridge.adc_count == capacity) {
      capacity *= 2;
      bridge.adc_rows = realloc(bridge.adc_rows, capacity * MAX_CHANNELS * sizeof(uint32_t));
    }
    uint32_t *row = bridge.adc_rows + bridge.adc_count * MAX_CHANNELS;
    memset(row, 0, MAX_CHANNELS * sizeof(uint32_t));
    for (int ch = 0; ch < MAX_CHANNELS; ++ch) {
      while (*p == ' ' || *p == '\t' || *p == ',') ++p;
      if (*p == '\n' || *p == '\0') break;
      char *end;
      const long mv = strtol(p, &end, 10);
      if (end == p || mv < 0 || mv > 65535) {
        fprintf(stderr, "bridge: %s line %zu: expected millivolts 0..65535, got: %s", path,
                number, line);
        fclose(f);
        return -1;
      }
      row[ch] = (uint32_t)mv;
      p = end;
    }
    ++bridge.adc_count;
  }
  fclose(f);
  return 0;
}

static int open_pty(char *name, size_t size) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 ||
      ptsname_r(master, name, size) != 0) {
    fprintf(stderr, "bridge: cannot create a pty: %s\n", strerror(errno));
    return -1;
  }
  struct termios tio;
  if (tcgetattr(master, &tio) == 0) {
    cfmakeraw(&tio);
    tcsetattr(master, TCSANOW, &tio);
  }
  /* Open and close the slave once, so that the master reports POLLHUP until a program opens
   * it: that transition is the "DTR" edge that resets the chip. */
  const int slave = open(name, O_RDWR | O_NOCTTY);
  if (slave >= 0) close(slave);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  return master;
}

static void reset_chip(void) {
  avr_reset(bridge.avr);
  bridge.reset_cycle = bridge.avr->cycle;
  bridge.xoff = 0;
  ++bridge.resets;
}

static void no_sleep(avr_t *avr, avr_cycle_count_t how_long) {
  (void)avr;
  (void)how_long; /* pacing to real time is done by the main loop */
}

static void usage(void) {
  fprintf(stderr,
          "usage: bridge FIRMWARE.elf [--mcu atmega328p] [--freq HZ] [--vcc MV] [--avcc MV] "
          "[--aref MV] [--adc FILE] [--adc-rate HZ] [--speed X] [--boot-ms MS] "
          "[--no-reset-on-open]\n");
}

int main(int argc, char **argv) {
  const char *firmware_path = NULL, *mcu = "atmega328p", *adc_path = NULL;
  uint32_t freq = 16000000, vcc = 5000, avcc = 5000, aref = 5000;
  double speed = 1.0, boot_ms = 1000.0;
  int reset_on_open = 1;
  bridge.adc_rate = 1000.0;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--no-reset-on-open") == 0) {
      reset_on_open = 0;
    } else if (a[0] == '-' && a[1] == '-' && v == NULL) {
      usage();
      return 2;
    } else if (strcmp(a, "--mcu") == 0) {
      mcu = argv[++i];
    } else if (strcmp(a, "--freq") == 0) {
      freq = (uint32_t)strtoul(argv[++i], NULL, 10);
    } else if (strcmp(a, "--vcc") == 0) {
      vcc = (uint32_t)strtoul(argv[++i], NULL, 10);
    } else if (strcmp(a, "--avcc") == 0) {
      avcc = (uint32_t)strtoul(argv[++i], NULL, 10);
    } else if (strcmp(a, "--aref") == 0) {
      aref = (uint32_t)strtoul(argv[++i], NULL, 10);
    } else if (strcmp(a, "--adc") == 0) {
      adc_path = argv[++i];
    } else if (strcmp(a, "--adc-rate") == 0) {
      bridge.adc_rate = strtod(argv[++i], NULL);
    } else if (strcmp(a, "--speed") == 0) {
      speed = strtod(argv[++i], NULL);
    } else if (strcmp(a, "--boot-ms") == 0) {
      boot_ms = strtod(argv[++i], NULL);
    } else if (a[0] != '-' && firmware_path == NULL) {
      firmware_path = a;
    } else {
      usage();
      return 2;
    }
  }
  if (firmware_path == NULL || !(bridge.adc_rate > 0) || speed < 0 || boot_ms < 0) {
    usage();
    return 2;
  }
  avr_global_logger_set(logger);
  if (adc_path && load_adc(adc_path) != 0) return 1;

  elf_firmware_t firmware;
  memset(&firmware, 0, sizeof(firmware));
  if (elf_read_firmware(firmware_path, &firmware) != 0) {
    fprintf(stderr, "bridge: cannot read the ELF firmware %s\n", firmware_path);
    return 1;
  }
  avr_t *avr = avr_make_mcu_by_name(mcu);
  if (!avr) {
    fprintf(stderr, "bridge: simavr does not know the MCU %s\n", mcu);
    return 1;
  }
  avr_init(avr);
  avr->log = LOG_WARNING;
  avr->sleep = no_sleep;
  avr_load_firmware(avr, &firmware);
  avr->frequency = freq;
  avr->vcc = vcc;
  avr->avcc = avcc;
  avr->aref = aref;
  bridge.avr = avr;

  uint32_t flags = 0;
  avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
  flags &= ~(uint32_t)(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
  avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT),
                          uart_output, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON),
                          uart_xon, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF),
                          uart_xoff, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_OUT_TRIGGER),
                          adc_trigger, NULL);

  char name[128];
  bridge.master = open_pty(name, sizeof(name));
  if (bridge.master < 0) return 1;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  printf("pty %s\n", name);
  fflush(stdout);

  reset_chip();
  const avr_cycle_count_t chunk = freq / 2000; /* 0.5 ms of simulated time per pass */
  double boot_until = 0.0;                     /* wall time the held reset ends, 0: running */
  double pace_wall = now_s();
  avr_cycle_count_t pace_cycle = avr->cycle;
  const double t_start = pace_wall;
  const avr_cycle_count_t cycle_start = avr->cycle;
  int state = cpu_Running;

  while (!stop_requested && state != cpu_Done && state != cpu_Crashed) {
    /* Is a program holding the pty open? POLLHUP on the master means no. */
    struct pollfd pfd = {.fd = bridge.master, .events = POLLIN};
    poll(&pfd, 1, 0);
    const int open_now = !(pfd.revents & POLLHUP);
    if (open_now && !bridge.connected) {
      bridge.connected = 1;
      bridge.to_host.head = bridge.to_host.tail = 0;
      bridge.to_chip.head = bridge.to_chip.tail = 0;
      if (reset_on_open) boot_until = now_s() + boot_ms / 1000.0;
    } else if (!open_now && bridge.connected) {
      bridge.connected = 0;
    }
    /* Host -> chip. */
    if (open_now && (pfd.revents & POLLIN)) {
      uint8_t buf[256];
      const ssize_t n = read(bridge.master, buf, sizeof(buf));
      for (ssize_t i = 0; i < n; ++i) {
        if (boot_until > 0.0) {
          /* optiboot swallows it and starts the sketch through a 16 ms watchdog reset */
          const double soon = now_s() + OPTIBOOT_WATCHDOG_MS / 1000.0;
          if (soon < boot_until) boot_until = soon;
        } else {
          ring_put(&bridge.to_chip, buf[i]);
        }
      }
    }
    if (boot_until > 0.0) {
      if (now_s() < boot_until) {
        usleep(500);
        continue;
      }
      boot_until = 0.0;
      reset_chip();
      pace_wall = now_s();
      pace_cycle = avr->cycle;
    }
    while (!bridge.xoff && ring_used(&bridge.to_chip) > 0) {
      const uint8_t b = bridge.to_chip.data[bridge.to_chip.tail];
      bridge.to_chip.tail = (bridge.to_chip.tail + 1) & (RING_SIZE - 1);
      ++bridge.bytes_in;
      avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT), b);
    }
    /* Run the chip. */
    const avr_cycle_count_t until = avr->cycle + chunk;
    while (avr->cycle < until) {
      state = avr_run(avr);
      if (state == cpu_Done || state == cpu_Crashed) break;
    }
    /* Chip -> host. */
    while (bridge.connected && ring_used(&bridge.to_host) > 0) {
      const size_t tail = bridge.to_host.tail;
      const size_t run = bridge.to_host.head > tail ? bridge.to_host.head - tail
                                                    : RING_SIZE - tail;
      const ssize_t n = write(bridge.master, bridge.to_host.data + tail, run);
      if (n <= 0) break; /* pty buffer full: try again next pass */
      bridge.to_host.tail = (tail + (size_t)n) & (RING_SIZE - 1);
    }
    /* Pace to real time. */
    if (speed > 0.0) {
      const double due =
          pace_wall + (double)(avr->cycle - pace_cycle) / ((double)freq * speed);
      const double ahead = due - now_s();
      if (ahead > 0.0005) {
        usleep((useconds_t)(ahead * 1e6));
      } else if (ahead < -0.25) {
        /* cannot keep up (a busy machine): stop trying to catch up on lost time */
        pace_wall = now_s();
        pace_cycle = avr->cycle;
      }
    }
  }
  const double wall = now_s() - t_start;
  const double simulated = (double)(avr->cycle - cycle_start) / (double)freq;
  fprintf(stderr,
          "bridge: stopped (cpu state %d): %.3f s simulated in %.3f s, %llu resets, %llu bytes "
          "out, %llu in, %llu dropped, %llu ADC conversions fed\n",
          state, simulated, wall, (unsigned long long)bridge.resets,
          (unsigned long long)bridge.bytes_out, (unsigned long long)bridge.bytes_in,
          (unsigned long long)bridge.dropped_out, (unsigned long long)bridge.conversions);
  avr_terminate(avr);
  close(bridge.master);
  return state == cpu_Crashed ? 1 : 0;
}
