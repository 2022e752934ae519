#===- test/cmake/PythonWithoutNumpy.cmake - the configure-time numpy check -===#
#
# Runs attn's Python check (cmake/AttnPython.cmake) twice: with PYTHON (the
# build's interpreter, which has numpy) it must configure; with a wrapper
# that starts the same interpreter without its site packages (-S: no numpy)
# it must stop, naming the interpreter and what it lacks.
#
# cmake -DPYTHON=... -DSOURCE_DIR=... -DWORK_DIR=... -P PythonWithoutNumpy.cmake
#
#===----------------------------------------------------------------------===#

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(project "${SOURCE_DIR}/test/cmake/python-numpy")

execute_process(
  COMMAND ${CMAKE_COMMAND} -S "${project}" -B "${WORK_DIR}/with"
          "-DPython3_EXECUTABLE=${PYTHON}"
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0 OR NOT out MATCHES "Python for the tests: .*numpy [0-9]")
  message(FATAL_ERROR "configuring with ${PYTHON} failed:\n${out}\n${err}")
endif()

set(wrapper "${WORK_DIR}/python3-without-numpy")
file(WRITE "${wrapper}" "#!/bin/sh\nexec \"${PYTHON}\" -S \"$@\"\n")
file(CHMOD "${wrapper}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
execute_process(
  COMMAND ${CMAKE_COMMAND} -S "${project}" -B "${WORK_DIR}/without"
          "-DPython3_EXECUTABLE=${wrapper}"
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX REPLACE "[ \n]+" " " err "${err}")
if(result EQUAL 0)
  message(FATAL_ERROR "configuring with a python3 that lacks numpy "
                      "succeeded:\n${out}")
endif()
if(NOT err MATCHES "the Python 3 interpreter CMake found, .*python3-without-numpy .*cannot import it .missing: numpy"
   OR NOT err MATCHES "-DPython3_EXECUTABLE=")
  message(FATAL_ERROR "the error does not say what is missing:\n${err}")
endif()
message(STATUS "ok: ${PYTHON} configures; a python3 without numpy stops "
               "configuring with: ${err}")
