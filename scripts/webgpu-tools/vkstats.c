// Print the Vulkan driver's statistics of a compute pipeline built from SPIR-V (VK_KHR_pipeline_executable_properties;
// the NVIDIA driver reports the register count and the binary size). Dawn reports neither, and ncu does not see
// Vulkan kernels, so this is how docs/notes/webgpu-decode.md got the decode kernel's register counts.
// Build: apt-get install libvulkan-dev && gcc -O1 -o vkstats vkstats.c -lvulkan.   Run: vkstats FILE.spv [ENTRY]
// The pipeline layout is one set of a uniform buffer (binding 0) and storage buffers (1..15), as Dawn binds the
// decode kernel; ENTRY defaults to Dawn's "dawn_entry_point". The first discrete GPU is used (else device 0).
// The matrix kernels need VK_KHR_cooperative_matrix (enabled where the device has it). With CACHE (a third argument)
// the pipeline cache's data (the driver's binary, for scripts/webgpu-tools/cache-sass.py) is written to that file, and
// the driver's internal representations (where it offers any) are printed or written beside it.
// Extensions the device lacks are left out (lavapipe has neither: there the pipeline is still built and its cache
// written, a dry run of everything but the figures); a crash names the step it happened in.
//   vkstats FILE.spv [ENTRY [CACHE]]
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

static const char *step = "start";
#define CHECK(x) do { step = #x; VkResult r_ = (x); if (r_ != VK_SUCCESS) { fprintf(stderr, "%s failed: %d\n", #x, r_); exit(1); } } while (0)

static void died(int sig) {
  char msg[512];
  int n = snprintf(msg, sizeof msg, "vkstats: signal %d during %s\n", sig, step);
  if (n > 0) { ssize_t w = write(2, msg, (size_t)n); (void)w; }
  _exit(128 + sig);
}

static int hasExt(VkPhysicalDevice pd, const char *name) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, 0, &n, 0);
  VkExtensionProperties *e = calloc(n ? n : 1, sizeof *e);
  vkEnumerateDeviceExtensionProperties(pd, 0, &n, e);
  int found = 0;
  for (uint32_t i = 0; i < n; i++) if (!strcmp(e[i].extensionName, name)) found = 1;
  free(e);
  return found;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: vkstats FILE.spv [ENTRY [CACHE]]\n"); return 2; }
  signal(SIGSEGV, died);
  signal(SIGBUS, died);
  signal(SIGABRT, died);
  signal(SIGFPE, died);
  signal(SIGILL, died);
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint32_t *code = malloc(n);
  if (fread(code, 1, n, f) != (size_t)n) { perror("read"); return 1; }
  fclose(f);

  VkApplicationInfo app = { VK_STRUCTURE_TYPE_APPLICATION_INFO, 0, "vkstats", 1, 0, 0, VK_API_VERSION_1_3 };
  VkInstanceCreateInfo ici = { VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, 0, 0, &app };
  VkInstance inst;
  CHECK(vkCreateInstance(&ici, 0, &inst));
  uint32_t np = 8;
  VkPhysicalDevice pds[8];
  CHECK(vkEnumeratePhysicalDevices(inst, &np, pds));
  VkPhysicalDevice pd = pds[0];
  for (uint32_t i = 0; i < np; i++) {
    VkPhysicalDeviceProperties pp;
    vkGetPhysicalDeviceProperties(pds[i], &pp);
    if (pp.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU) { pd = pds[i]; printf("device: %s\n", pp.deviceName); break; }
  }

  // Every feature the device has (the shader may use subgroups, the Vulkan memory model, ...), plus the statistics.
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR pe = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR };
  // VkPhysicalDeviceCooperativeMatrixFeaturesKHR (Debian 12's headers predate it)
  struct { VkStructureType sType; void *pNext; VkBool32 cooperativeMatrix, cooperativeMatrixRobustBufferAccess; } cm = { (VkStructureType)1000506000 };
  pe.pNext = &cm;
  VkPhysicalDeviceVulkan13Features f13 = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, &pe };
  VkPhysicalDeviceVulkan12Features f12 = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, &f13 };
  VkPhysicalDeviceVulkan11Features f11 = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &f12 };
  VkPhysicalDeviceFeatures2 feats = { VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f11 };
  int hasPe = hasExt(pd, "VK_KHR_pipeline_executable_properties"), hasCm = hasExt(pd, "VK_KHR_cooperative_matrix");
  if (!hasCm) pe.pNext = 0;
  if (!hasPe) f13.pNext = hasCm ? (void *)&cm : 0;
  step = "vkGetPhysicalDeviceFeatures2";
  vkGetPhysicalDeviceFeatures2(pd, &feats);
  pe.pipelineExecutableInfo = VK_TRUE;
  const char *exts[2];
  uint32_t next = 0;
  if (hasPe) exts[next++] = "VK_KHR_pipeline_executable_properties";
  if (hasCm && cm.cooperativeMatrix) exts[next++] = "VK_KHR_cooperative_matrix";
  else if (hasCm) { if (hasPe) pe.pNext = 0; else f13.pNext = 0; }
  printf("extensions: pipeline_executable_properties %s, cooperative_matrix %s\n", hasPe ? "yes" : "no", hasCm && cm.cooperativeMatrix ? "yes" : "no");
  float prio = 1;
  VkDeviceQueueCreateInfo qci = { VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, 0, 0, 0, 1, &prio };
  VkDeviceCreateInfo dci = { VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &feats, 0, 1, &qci, 0, 0, next, exts, 0 };
  VkDevice dev;
  CHECK(vkCreateDevice(pd, &dci, 0, &dev));

  VkDescriptorSetLayoutBinding b[16];
  for (uint32_t i = 0; i < 16; i++)
    b[i] = (VkDescriptorSetLayoutBinding){ i, i == 0 ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, 0 };
  VkDescriptorSetLayoutCreateInfo dl = { VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, 0, 0, 16, b };
  VkDescriptorSetLayout dsl;
  CHECK(vkCreateDescriptorSetLayout(dev, &dl, 0, &dsl));
  VkPipelineLayoutCreateInfo pl = { VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, 0, 0, 1, &dsl };
  VkPipelineLayout layout;
  CHECK(vkCreatePipelineLayout(dev, &pl, 0, &layout));
  VkShaderModuleCreateInfo smi = { VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, 0, 0, (size_t)n, code };
  VkShaderModule sm;
  CHECK(vkCreateShaderModule(dev, &smi, 0, &sm));
  VkPipelineCacheCreateInfo pci = { VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO };
  VkPipelineCache cache;
  CHECK(vkCreatePipelineCache(dev, &pci, 0, &cache));
  VkComputePipelineCreateInfo cpi = { VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO, 0, hasPe ? VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR | VK_PIPELINE_CREATE_CAPTURE_INTERNAL_REPRESENTATIONS_BIT_KHR : 0,
    { VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, 0, 0, VK_SHADER_STAGE_COMPUTE_BIT, sm, argc > 2 ? argv[2] : "dawn_entry_point", 0 }, layout };
  VkPipeline pipe;
  CHECK(vkCreateComputePipelines(dev, cache, 1, &cpi, 0, &pipe));

  printf("pipeline: built\n");
  fflush(stdout);
  PFN_vkGetPipelineExecutableStatisticsKHR stats = !hasPe ? 0 : (PFN_vkGetPipelineExecutableStatisticsKHR)vkGetDeviceProcAddr(dev, "vkGetPipelineExecutableStatisticsKHR");
  VkPipelineExecutableInfoKHR ei = { VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR, 0, pipe, 0 }; // a compute pipeline has one
  uint32_t ns = 0;
  if (stats) CHECK(stats(dev, &ei, &ns, 0));
  VkPipelineExecutableStatisticKHR *st = calloc(ns, sizeof *st);
  for (uint32_t i = 0; i < ns; i++) st[i].sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR;
  if (stats) CHECK(stats(dev, &ei, &ns, st));
  for (uint32_t i = 0; i < ns; i++) {
    printf("%s = ", st[i].name);
    switch (st[i].format) {
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: printf("%u", st[i].value.b32); break;
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: printf("%lld", (long long)st[i].value.i64); break;
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: printf("%llu", (unsigned long long)st[i].value.u64); break;
      default: printf("%g", st[i].value.f64);
    }
    printf("  (%s)\n", st[i].description);
  }
  if (argc > 3) {
    size_t cn = 0;
    CHECK(vkGetPipelineCacheData(dev, cache, &cn, 0));
    void *cd = malloc(cn);
    CHECK(vkGetPipelineCacheData(dev, cache, &cn, cd));
    FILE *o = fopen(argv[3], "wb");
    if (o) { fwrite(cd, 1, cn, o); fclose(o); printf("cache: %zu B to %s\n", cn, argv[3]); }
    step = "internal representations";
    PFN_vkGetPipelineExecutableInternalRepresentationsKHR irs = !hasPe ? 0 : (PFN_vkGetPipelineExecutableInternalRepresentationsKHR)vkGetDeviceProcAddr(dev, "vkGetPipelineExecutableInternalRepresentationsKHR");
    uint32_t nr = 0;
    if (irs && irs(dev, &ei, &nr, 0) == VK_SUCCESS) {
      VkPipelineExecutableInternalRepresentationKHR *ir = calloc(nr ? nr : 1, sizeof *ir);
      for (uint32_t i = 0; i < nr; i++) ir[i].sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INTERNAL_REPRESENTATION_KHR;
      irs(dev, &ei, &nr, ir);
      for (uint32_t i = 0; i < nr; i++) { ir[i].pData = malloc(ir[i].dataSize + 1); }
      irs(dev, &ei, &nr, ir);
      for (uint32_t i = 0; i < nr; i++) {
        printf("internal representation %u: %s (%s), %zu B%s\n", i, ir[i].name, ir[i].description, ir[i].dataSize, ir[i].isText ? ", text" : "");
        char path[4096];
        snprintf(path, sizeof path, "%s.ir%u%s", argv[3], i, ir[i].isText ? ".txt" : ".bin");
        FILE *g = fopen(path, "wb");
        if (g) { fwrite(ir[i].pData, 1, ir[i].dataSize, g); fclose(g); }
      }
    } else printf("internal representations: none\n");
  }
  return 0;
}
