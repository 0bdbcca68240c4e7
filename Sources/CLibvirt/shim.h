// libvirt for Swift: the types and constants of the public client API and its error API
// (libvirt-dev). The functions are looked up at run time (SidetapLibvirt/LibvirtAPI.swift):
// this module links nothing.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
