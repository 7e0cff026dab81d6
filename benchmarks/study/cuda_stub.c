/* libcuda.so.1 stand-in for a machine without an NVIDIA driver. Every CUDA driver entry point answers
   CUDA_ERROR_NO_DEVICE (100), so that CUDA builds of Legate (PyPI's wheels) load and run on CPUs only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#define NO_DEVICE 100

static int no_device(void) { return NO_DEVICE; }
int cuInit(unsigned int flags) { (void)flags; return NO_DEVICE; }
int cuDriverGetVersion(int *version) { if (version) *version = 13000; return 0; }
int cuDeviceGetCount(int *count) { if (count) *count = 0; return NO_DEVICE; }
int cuGetErrorString(int error, const char **text) {
    (void)error; if (text) *text = "no CUDA device (stub libcuda.so.1)"; return 0; }
int cuGetErrorName(int error, const char **text) {
    (void)error; if (text) *text = "CUDA_ERROR_NO_DEVICE"; return 0; }
int cuMemFree_v2(void *pointer) { (void)pointer; return NO_DEVICE; }
int cuMemFreeHost(void *pointer) { (void)pointer; return NO_DEVICE; }

static void *lookup(const char *symbol) {
    void *own = dlsym(RTLD_DEFAULT, symbol);
    static const char *names[] = {"cuInit", "cuDriverGetVersion", "cuDeviceGetCount", "cuGetErrorString",
                                  "cuGetErrorName", "cuMemFree", "cuMemFreeHost", 0};
    for (int i = 0; names[i]; i++)
        if (strcmp(symbol, names[i]) == 0 && own) return own;
    return (void *)no_device;
}
int cuGetProcAddress(const char *symbol, void **function, int version, unsigned long long flags) {
    (void)version; (void)flags; if (function) *function = lookup(symbol); return 0; }
int cuGetProcAddress_v2(const char *symbol, void **function, int version, unsigned long long flags, int *status) {
    (void)version; (void)flags; if (status) *status = 0; if (function) *function = lookup(symbol); return 0; }
