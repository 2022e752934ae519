//===- KernelLibrary.cpp - CUDA sources as dlopen'ed emulator kernels -------===//
//
// Runs the host compiler on a kernel source and dlopens the result. See
// KernelLibrary.h.
//
//===----------------------------------------------------------------------===//

#include "attn/emu/KernelLibrary.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char **environ;

namespace attn::emu {

namespace {

std::string quote(const std::string &arg) {
  if (arg.find_first_of(" \t\n'\"\\$") == std::string::npos && !arg.empty())
    return arg;
  std::string out = "'";
  for (char c : arg)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// A private temporary directory, removed (with its files) on destruction.
struct TempDir {
  std::string path;
  TempDir() {
    const char *base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") +
                          "/attn-emu-XXXXXX";
    if (char *made = mkdtemp(pattern.data()))
      path = made;
  }
  ~TempDir() {
    if (!path.empty()) {
      unlink((path + "/kernel.so").c_str());
      rmdir(path.c_str());
    }
  }
};

} // namespace

CompilerRun runCompiler(const std::vector<std::string> &argv) {
  CompilerRun run;
  for (const std::string &arg : argv)
    run.commandLine += (run.commandLine.empty() ? "" : " ") + quote(arg);
  int pipeFds[2];
  if (pipe(pipeFds) != 0) {
    run.output = std::string("pipe failed: ") + std::strerror(errno);
    return run;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipeFds[0]);
  posix_spawn_file_actions_addclose(&actions, pipeFds[1]);
  std::vector<char *> args;
  for (const std::string &arg : argv)
    args.push_back(const_cast<char *>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int status = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(),
                            environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipeFds[1]);
  if (status != 0) {
    close(pipeFds[0]);
    run.output = "cannot run '" + argv[0] + "': " + std::strerror(status);
    return run;
  }
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipeFds[0], buffer, sizeof buffer)) > 0 ||
         (n < 0 && errno == EINTR))
    if (n > 0)
      run.output.append(buffer, static_cast<std::size_t>(n));
  close(pipeFds[0]);
  int waitStatus = 0;
  while (waitpid(pid, &waitStatus, 0) < 0 && errno == EINTR)
    ;
  run.exitCode = WIFEXITED(waitStatus) ? WEXITSTATUS(waitStatus) : -1;
  return run;
}

std::string emulatorIncludeDir() { return ATTN_EMU_INCLUDE_DIR; }

std::unique_ptr<KernelLibrary>
KernelLibrary::compile(const std::string &sourcePath,
                       const HostCompileOptions &options, std::string *error) {
  TempDir temp;
  std::string output = options.outputPath;
  if (output.empty()) {
    if (temp.path.empty()) {
      *error = "cannot create a temporary directory for the kernel library";
      return nullptr;
    }
    output = temp.path + "/kernel.so";
  }
  std::vector<std::string> argv = {options.compiler};
  argv.insert(argv.end(), options.flags.begin(), options.flags.end());
  for (const std::string &dir : options.includeDirs)
    argv.push_back("-I" + dir);
  argv.push_back("-I" + emulatorIncludeDir());
  // Hidden visibility keeps the kernel's inline helpers from interposing on
  // other DSOs; ATTN_KERNEL_ENTRY exports the entry points explicitly.
  for (const char *arg : {"-fPIC", "-shared", "-fvisibility=hidden",
                          "-include", "attn/emu/cuda_emu.h", "-x", "c++"})
    argv.push_back(arg);
  argv.push_back(sourcePath);
  argv.push_back("-o");
  argv.push_back(output);
  CompilerRun run = runCompiler(argv);
  if (run.exitCode != 0) {
    *error = "compiling '" + sourcePath + "' for the emulator failed (exit " +
             std::to_string(run.exitCode) + ")\ncommand: " + run.commandLine +
             "\n" + run.output;
    return nullptr;
  }
  // Once loaded, the temporary file can go: the mapping keeps it alive.
  return load(output, error);
}

std::unique_ptr<KernelLibrary> KernelLibrary::load(const std::string &path,
                                                   std::string *error) {
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *message = dlerror();
    *error = "cannot load kernel library '" + path +
             "': " + (message ? message : "unknown error");
    return nullptr;
  }
  return std::unique_ptr<KernelLibrary>(new KernelLibrary(handle, path));
}

KernelLibrary::~KernelLibrary() { dlclose(handle); }

KernelEntry KernelLibrary::lookup(std::string_view name) const {
  std::string symbol = "attn_emu_entry_" + std::string(name);
  return reinterpret_cast<KernelEntry>(dlsym(handle, symbol.c_str()));
}

LaunchResult KernelLibrary::launch(std::string_view name, const void *params,
                                   LaunchConfig config) const {
  config.kernelName = std::string(name);
  KernelEntry entry = lookup(name);
  if (!entry) {
    LaunchResult result;
    result.errorCount = 1;
    result.errors.push_back(
        "kernel '" + config.kernelName + "' not found in " + libraryPath +
        " (is it exported with ATTN_KERNEL_ENTRY?)");
    return result;
  }
  return launchEntry(entry, params, config);
}

} // namespace attn::emu
