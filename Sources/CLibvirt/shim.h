// libvirt for Swift: the public client API and its error API (libvirt-dev).
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
