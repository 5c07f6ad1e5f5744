# SPDX-License-Identifier: MIT
# What `cmake --install` (and `make install PREFIX=... DESTDIR=...`) puts
# under the prefix: the two libraries (shared with their sonames, and
# static), the public headers, pkg-config files, the programs, the bench's
# child programs and the built-in base image. Programs find the image and
# the bench programs relative to where they are installed (see
# hcs_default_image_home in include/hcs.h and hcs-bench --progs).

include(GNUInstallDirs)

install(TARGETS hcs_async hcs
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS hcs_async_static hcs_static
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES
  ${PROJECT_SOURCE_DIR}/include/hcs.h
  ${PROJECT_SOURCE_DIR}/include/hcs-async.h
  ${HCS_GENERATED_INCLUDE}/hcs-version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

foreach(pc hcs hcs-async)
  configure_file(${PROJECT_SOURCE_DIR}/packaging/${pc}.pc.in
                 ${CMAKE_BINARY_DIR}/packaging/${pc}.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/${pc}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

install(TARGETS hcs_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET hcs-runc)
  install(TARGETS hcs-runc RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
endif()
if(TARGET hcsd)
  install(TARGETS hcsd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
endif()
if(TARGET hcs-bench)
  install(TARGETS hcs-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY ${HCS_BENCH_PROGS_DIR}/
          DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/hcs/bench
          USE_SOURCE_PERMISSIONS)
endif()

# The base image is made afresh under the prefix by hcs-mkimage (modes,
# links and ownership as the layer store wants them, whatever the build
# tree's umask was), from the busybox the build used.
install(CODE "
  set(_home \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/hcs/images\")
  file(MAKE_DIRECTORY \"\${_home}\")
  execute_process(
    COMMAND \"$<TARGET_FILE:hcs-mkimage>\" \"\${_home}\" \"${HCS_BUSYBOX}\"
    RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR \"hcs-mkimage \${_home}: status \${_rc}\")
  endif()
  message(STATUS \"Made the base image: \${_home}/busybox\")
")

# Man pages, bash completion and the systemd units (packaging/systemd):
# the units name hcsd where this prefix puts it.
foreach(page hcs.1 hcsd.8)
  string(REGEX REPLACE ".*\\." "" section ${page})
  configure_file(${PROJECT_SOURCE_DIR}/man/${page}
                 ${CMAKE_BINARY_DIR}/man/${page} @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/man/${page}
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

set(HCS_BASH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
    CACHE STRING "Where bash completions go, under the prefix")
install(FILES ${PROJECT_SOURCE_DIR}/packaging/bash-completion/hcs
        DESTINATION ${HCS_BASH_COMPLETION_DIR})
if(TARGET hcsd)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/bash-completion/hcsd
          DESTINATION ${HCS_BASH_COMPLETION_DIR})

  # lib/, not the multiarch libdir: systemd reads <prefix>/lib/systemd.
  set(HCS_SYSTEMD_UNIT_DIR lib/systemd/system
      CACHE STRING "Where the systemd units go, under the prefix")
  configure_file(${PROJECT_SOURCE_DIR}/packaging/systemd/hcsd.service.in
                 ${CMAKE_BINARY_DIR}/packaging/hcsd.service @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/hcsd.service
                ${PROJECT_SOURCE_DIR}/packaging/systemd/hcsd.socket
          DESTINATION ${HCS_SYSTEMD_UNIT_DIR})
endif()
