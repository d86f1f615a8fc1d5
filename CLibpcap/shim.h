#ifndef SMTP_TRACE_CLIBPCAP_SHIM_H
#define SMTP_TRACE_CLIBPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
