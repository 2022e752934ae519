#===- InstalledHostExample.cmake - ctest: the installed package works ------===#
#
# cmake -DBUILD_DIR=<attn build> -DSOURCE_DIR=<attn source> -DWORK_DIR=<dir>
#       -DCXX_COMPILER=<c++> -P InstalledHostExample.cmake
#
# Installs the build into WORK_DIR/prefix, configures and builds
# examples/host against it (find_package(attn)) and runs the example on
# examples/causal.mlir with a private cache. Any failing step fails the test.
#
#===------------------------------------------------------------------------===#

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

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
step("configure the host example" ${CMAKE_COMMAND} -G Ninja
  -S "${SOURCE_DIR}/examples/host" -B "${WORK_DIR}/build"
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
  -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
step("build the host example" ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
step("run the host example" ${CMAKE_COMMAND} -E env
  "ATTN_CACHE_DIR=${WORK_DIR}/cache"
  "${WORK_DIR}/build/attn-host-example" "${SOURCE_DIR}/examples/causal.mlir")
