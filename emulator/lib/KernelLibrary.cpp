//===- KernelLibrary.cpp - CUDA sources as dlopen'ed emulator kernels -------===//
//
// Runs the host compiler on a kernel source and dlopens the result. See
// KernelLibrary.h.
//
//===----------------------------------------------------------------------===//

#include "attn/emu/KernelLibrary.h"

#include "attn/emu/DeviceHeaders.h"
#include "attn/emu/PrivateFiles.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
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

/// `text` as the body of a C string literal.
std::string cString(const std::string &text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c != '\n')
      out += c;
  }
  return out;
}

/// A compiled library's size bound (it is read into memory to be loaded).
constexpr std::size_t kMaxLibraryBytes = std::size_t(1) << 30;
/// A kernel source's size bound.
constexpr std::size_t kMaxSourceBytes = std::size_t(256) << 20;

std::string dlError() {
  const char *message = dlerror();
  return message ? message : "unknown error";
}

/// dlopen's the sealed memfd holding `image`; -1 in `*fd` (and `*why`)
/// when memfds are unavailable or the loader refuses.
void *openFromMemfd(std::string_view image, const std::string &name, int *fd,
                    std::string *path, std::string *why) {
  *fd = ::memfd_create(("attn-kernel:" + name).c_str(),
                       MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (*fd < 0) {
    *why = std::string("memfd_create: ") + std::strerror(errno);
    return nullptr;
  }
  // Sealed: not even this user can change the bytes once checked.
  if (!writeAll(*fd, image) ||
      ::fcntl(*fd, F_ADD_SEALS,
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    *why = std::string("writing the memfd: ") + std::strerror(errno);
  } else {
    *path = "/proc/self/fd/" + std::to_string(*fd);
    if (void *handle = dlopen(path->c_str(), RTLD_NOW | RTLD_LOCAL))
      return handle;
    *why = dlError();
  }
  ::close(*fd);
  *fd = -1;
  return nullptr;
}

/// dlopen's a copy of `image` in a private directory, removed at once (the
/// mapping keeps the bytes). The file name is unique in the process, since
/// the loader matches names of libraries still loaded.
void *openFromPrivateCopy(std::string_view image, std::string *path,
                          std::string *why) {
  static std::atomic<unsigned long> counter{0};
  PrivateDirectory dir("attn-load", why);
  if (dir.path().empty())
    return nullptr;
  std::string file = "kernel-" + std::to_string(counter++) + ".so";
  if (!dir.writeFile(file, image, why))
    return nullptr;
  *path = dir.path() + "/" + file;
  void *handle = dlopen(path->c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    *why = dlError();
  return handle;
}

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

std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool prepareKernelCompile(const PrivateDirectory &dir, std::string_view source,
                          const std::string &displayName,
                          const std::string &sourceDir,
                          std::vector<std::string> *args,
                          std::string *sourcePath, std::string *error) {
  for (const HeaderFile &header : deviceHeaders())
    if (!dir.writeFile("include/" + header.name, header.contents, error))
      return false;
  std::string text = "#line 1 \"" + cString(displayName) + "\"\n";
  text.append(source);
  if (!dir.writeFile("kernel.cu", text, error))
    return false;
  *sourcePath = dir.path() + "/kernel.cu";
  args->insert(args->end(), {"-iquote", dir.path() + "/include"});
  if (!sourceDir.empty())
    args->insert(args->end(), {"-iquote", sourceDir});
  args->insert(args->end(),
               {"-include", dir.path() + "/include/attn/emu/cuda_emu.h"});
  return true;
}

std::unique_ptr<KernelLibrary>
KernelLibrary::compile(const std::string &sourcePath,
                       const HostCompileOptions &options, std::string *error) {
  std::string source;
  if (!readRegularFile(sourcePath, kMaxSourceBytes, &source, error))
    return nullptr;
  return build(source, sourcePath, directoryOf(sourcePath), options, error,
               nullptr);
}

std::unique_ptr<KernelLibrary>
KernelLibrary::compileSource(std::string_view source, const std::string &name,
                             const HostCompileOptions &options,
                             std::string *error, std::string *image) {
  return build(source, name, "", options, error, image);
}

std::unique_ptr<KernelLibrary>
KernelLibrary::build(std::string_view source, const std::string &name,
                     const std::string &sourceDir,
                     const HostCompileOptions &options, std::string *error,
                     std::string *image) {
  PrivateDirectory dir("attn-emu", error);
  if (dir.path().empty())
    return nullptr;
  std::vector<std::string> argv = {options.compiler};
  argv.insert(argv.end(), options.flags.begin(), options.flags.end());
  std::string sourcePath;
  if (!prepareKernelCompile(dir, source, name, sourceDir, &argv, &sourcePath,
                            error))
    return nullptr;
  std::string output = dir.path() + "/kernel.so";
  // Hidden visibility keeps the kernel's inline helpers from interposing on
  // other DSOs; ATTN_KERNEL_ENTRY exports the entry points explicitly.
  for (const char *arg : {"-fPIC", "-shared", "-fvisibility=hidden", "-x",
                          "c++"})
    argv.push_back(arg);
  argv.push_back(sourcePath);
  argv.push_back("-o");
  argv.push_back(output);
  CompilerRun run = runCompiler(argv);
  if (run.exitCode != 0) {
    *error = "compiling '" + name + "' for the emulator failed (exit " +
             std::to_string(run.exitCode) + ")\ncommand: " + run.commandLine +
             "\n" + run.output;
    return nullptr;
  }
  std::string bytes;
  if (!readRegularFile(output, kMaxLibraryBytes, &bytes, error))
    return nullptr;
  // Nothing of the build is left once the kernel can run.
  dir.remove();
  auto library = loadImage(bytes, name, error);
  if (library && image)
    *image = std::move(bytes);
  return library;
}

std::unique_ptr<KernelLibrary>
KernelLibrary::loadImage(std::string_view image, const std::string &name,
                         std::string *error) {
  int fd = -1;
  std::string path, memfdWhy, copyWhy;
  void *handle = openFromMemfd(image, name, &fd, &path, &memfdWhy);
  if (!handle)
    handle = openFromPrivateCopy(image, &path, &copyWhy);
  if (!handle) {
    *error = "cannot load kernel library '" + name + "': " + memfdWhy +
             (copyWhy.empty() ? "" : "; from a private copy: " + copyWhy);
    return nullptr;
  }
  return std::unique_ptr<KernelLibrary>(
      new KernelLibrary(handle, name, fd, path));
}

KernelLibrary::~KernelLibrary() {
  dlclose(handle);
  if (memfd < 0)
    return;
  // A library the loader keeps (RTLD_NODELETE, unique symbols) keeps its
  // name: the descriptor stays open so that no later memfd reuses it.
  if (void *still = dlopen(loadPath.c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
    dlclose(still);
    return;
  }
  ::close(memfd);
}
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
        "kernel '" + config.kernelName + "' not found in " + libraryName +
        " (is it exported with ATTN_KERNEL_ENTRY?)");
    return result;
  }
  return launchEntry(entry, params, config);
}

} // namespace attn::emu
