#===- InstalledHostExample.cmake - ctest: the installed package works ------===#
#
# cmake -DBUILD_DIR=<attn build> -DSOURCE_DIR=<attn source> -DWORK_DIR=<dir>
#       -DCXX_COMPILER=<c++> [-DHOST_FLAGS=<flags>] -P InstalledHostExample.cmake
#
# HOST_FLAGS: compile and link flags of the host (a sanitized build's
# runtime needs a host linked with the same sanitizers' runtimes).
#
# Installs the build into WORK_DIR/prefix, configures and builds
# examples/host against it (find_package(attn)) and runs the example on a
# copy of examples/causal.mlir with a private cache, and checks that the
# installed runtime needs nothing of the source or build tree:
#  - libattn_runtime.so names no directory of either;
#  - the run happens with the source tree's device/, emulator/ and runtime/
#    hidden (a tmpfs over each in a private mount namespace, where `unshare`
#    may; elsewhere the run starts inside device/include, where a relative
#    include would find the device headers);
#  - the emulator's host compiler (a wrapper first on PATH that records
#    command lines and the headers each compile read) gets no -I at all and
#    reads no header of the source tree or the cache: the device library
#    comes from the compile's private directory under $TMPDIR, which is
#    empty again afterwards.
# Any failing step fails the test.
#
#===------------------------------------------------------------------------===#

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}" "${WORK_DIR}/tmp" "${WORK_DIR}/bin")

function(step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result
    OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${name}:\n${out}${err}")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${name} failed (${result})")
  endif()
endfunction()

step("install" ${CMAKE_COMMAND} --install "${BUILD_DIR}"
  --prefix "${WORK_DIR}/prefix")

# The installed runtime names no directory of the source or build tree.
# A sanitized build cannot pass this: ASan and UBSan keep every instrumented
# file's path for their reports (-ffile-prefix-map does not reach them).
if(SANITIZED)
  message(STATUS "sanitized build: the check for source-tree paths in "
                 "libattn_runtime.so runs in the release build only")
else()
  file(STRINGS "${WORK_DIR}/prefix/lib/libattn_runtime.so" strings)
  foreach(s IN LISTS strings)
    foreach(dir "${SOURCE_DIR}/runtime" "${SOURCE_DIR}/device"
                "${SOURCE_DIR}/emulator" "${BUILD_DIR}/runtime"
                "${BUILD_DIR}/emulator" "${BUILD_DIR}/lib")
      string(FIND "${s}" "${dir}" at)
      if(NOT at EQUAL -1)
        message(FATAL_ERROR "libattn_runtime.so names '${dir}': ${s}")
      endif()
    endforeach()
  endforeach()
endif()

step("configure the host example" ${CMAKE_COMMAND} -G Ninja
  -S "${SOURCE_DIR}/examples/host" -B "${WORK_DIR}/build"
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
  "-DCMAKE_CXX_FLAGS=${HOST_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${HOST_FLAGS}"
  -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
step("build the host example" ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
file(COPY "${SOURCE_DIR}/examples/causal.mlir" DESTINATION "${WORK_DIR}")

# The emulator's host compiler (clang++-22 on PATH), wrapped.
find_program(REAL_CXX clang++-22 REQUIRED)
file(WRITE "${WORK_DIR}/bin/clang++-22"
"#!/bin/sh
echo \"$@\" >> '${WORK_DIR}/compiler-args.txt'
for arg in \"$@\"; do
  [ \"$arg\" = --version ] && exec '${REAL_CXX}' \"$@\"
done
exec '${REAL_CXX}' \"$@\" -MD -MF \"${WORK_DIR}/deps-$$.txt\"
")
file(CHMOD "${WORK_DIR}/bin/clang++-22" PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
  WORLD_READ WORLD_EXECUTE)

set(run_env ${CMAKE_COMMAND} -E env
  "ATTN_CACHE_DIR=${WORK_DIR}/cache" "TMPDIR=${WORK_DIR}/tmp"
  "PATH=${WORK_DIR}/bin:$ENV{PATH}" "ATTN_LIBCUDA=/nonexistent/libcuda.so.1")
set(run ${run_env} "${WORK_DIR}/build/attn-host-example"
  "${WORK_DIR}/causal.mlir" --device=emu)
execute_process(COMMAND unshare --mount --propagation private true
  RESULT_VARIABLE can_unshare OUTPUT_QUIET ERROR_QUIET)
if(can_unshare EQUAL 0)
  string(REPLACE ";" "' '" quoted "${run}")
  set(hide "")
  foreach(dir runtime device emulator)
    string(APPEND hide "mount -t tmpfs attn-hidden '${SOURCE_DIR}/${dir}' && ")
  endforeach()
  step("run the host example with the source tree's runtime, device and emulator hidden"
    unshare --mount --propagation private sh -c
    "${hide}cd '${SOURCE_DIR}/device' && test -z \"$(ls -A)\" && exec '${quoted}'")
else()
  message(STATUS "unshare --mount is not permitted here: the source tree "
    "stays visible; the run starts in its device/include instead")
  step("run the host example" ${CMAKE_COMMAND} -E chdir
    "${SOURCE_DIR}/device/include" ${run})
endif()
# A warm run: everything from the cache, nothing compiled.
step("run the host example again" ${run})

# What the host compiler was given and read.
file(READ "${WORK_DIR}/compiler-args.txt" args)
message(STATUS "host compiler command lines:\n${args}")
# Two compiles, both in the first run: the 128-row plan, and the 64-row
# plan the runtime runs for this Nq (100 queries x 2 x 8 heads leave SMs
# idle at 128 rows); the warm run compiles nothing.
file(GLOB deps "${WORK_DIR}/deps-*.txt")
list(LENGTH deps compiles)
if(NOT compiles EQUAL 2)
  message(FATAL_ERROR "expected two kernel compiles (the 128-row plan and "
    "its 64-row plan), found ${compiles}")
endif()
set(headers "")
foreach(dep IN LISTS deps)
  file(READ "${dep}" one)
  string(APPEND headers " ${one}")
endforeach()
string(REGEX REPLACE "[ \t\r\n\\\\]+" ";" headers "${headers}")
foreach(forbidden " -I" "${SOURCE_DIR}/runtime" "${SOURCE_DIR}/device"
                  "${SOURCE_DIR}/emulator" "${WORK_DIR}/cache")
  string(FIND "${args}" "${forbidden}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "the host compiler was given '${forbidden}': ${args}")
  endif()
endforeach()
set(device_headers 0)
foreach(header IN LISTS headers)
  if(header MATCHES "attn/(device|emu)/")
    string(FIND "${header}" "${WORK_DIR}/tmp/attn-emu-" at)
    if(NOT at EQUAL 0 OR NOT header MATCHES "/include/attn/")
      message(FATAL_ERROR "a kernel compile read '${header}', not the "
        "embedded copy in its private directory")
    endif()
    math(EXPR device_headers "${device_headers} + 1")
  endif()
  foreach(forbidden "${SOURCE_DIR}/runtime" "${SOURCE_DIR}/device"
                    "${SOURCE_DIR}/emulator" "${WORK_DIR}/cache")
    string(FIND "${header}" "${forbidden}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "a kernel compile read '${header}'")
    endif()
  endforeach()
endforeach()
if(device_headers LESS 5)
  message(FATAL_ERROR "the dependency list names ${device_headers} device "
    "headers: ${headers}")
endif()
file(GLOB left "${WORK_DIR}/tmp/*")
if(left)
  message(FATAL_ERROR "left in TMPDIR: ${left}")
endif()

# Race checking from the installed runtime: its runner library is found
# beside the installed libattn_runtime.so (no build-tree path), on a small
# problem.
if(NOT EXISTS "${WORK_DIR}/prefix/lib/libattn_race_runner.a")
  message(FATAL_ERROR "the race checker's runner is not installed beside "
    "libattn_runtime.so")
endif()
execute_process(COMMAND ${run_env} "${WORK_DIR}/build/attn-host-example"
    "${WORK_DIR}/causal.mlir" --device=emu --b=1 --nq=40 --race
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "race check of the installed runtime:\n${out}${err}")
if(NOT result EQUAL 0 OR NOT out MATCHES "race: 0 ThreadSanitizer reports")
  message(FATAL_ERROR "the race check of the installed runtime failed "
    "(${result})")
endif()

# The same variant built in C++ through the installed attn/VariantBuilder.h.
step("run the host example on its VariantBuilder variant" ${run_env}
  "${WORK_DIR}/build/attn-host-example" --builder --device=emu)
