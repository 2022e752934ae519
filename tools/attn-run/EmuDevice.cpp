//===- EmuDevice.cpp - attn-run's bridge to the CPU emulator ---------------===//

#include "EmuDevice.h"

#include "attn/emu/KernelLibrary.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

using namespace attn::run;

bool attn::run::runOnEmulator(const EmuLaunch &launch, EmuTimes &times,
                              std::string *error) {
  std::string path = launch.keepSourcePath;
  bool temporary = path.empty();
  if (temporary) {
    char name[] = "/tmp/attn-kernel-XXXXXX.cu";
    int fd = mkstemps(name, 3);
    if (fd < 0) {
      *error = "cannot create a temporary kernel file";
      return false;
    }
    close(fd);
    path = name;
  }
  {
    std::ofstream out(path);
    out << launch.source;
    if (!out) {
      *error = "cannot write '" + path + "'";
      return false;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  attn::emu::HostCompileOptions options;
  auto library = attn::emu::KernelLibrary::compile(path, options, error);
  if (temporary)
    std::remove(path.c_str());
  if (!library)
    return false;
  auto t1 = std::chrono::steady_clock::now();
  attn::emu::LaunchConfig config(
      launch.kernelName, dim3(launch.grid[0], launch.grid[1], launch.grid[2]),
      dim3(launch.block), launch.dynamicSmemBytes);
  attn::emu::LaunchResult result =
      library->launch(launch.kernelName, launch.params, config);
  auto t2 = std::chrono::steady_clock::now();
  times.compile = std::chrono::duration<double>(t1 - t0).count();
  times.launch = std::chrono::duration<double>(t2 - t1).count();
  if (!result.ok()) {
    *error = "the emulated kernel failed:\n" + result.message();
    return false;
  }
  return true;
}
