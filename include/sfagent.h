/**
 * @file sfagent.h
 * @brief Umbrella header for the sfagent library.
 */
#ifndef SFAGENT_H
#define SFAGENT_H

#include <sfagent/status.h>
#include <sfagent/error.h>
#include <sfagent/global.h>
#include <sfagent/log.h>
#include <sfagent/agent.h>
#include <sfagent/record.h>
#include <sfagent/outbox.h>
#include <sfagent/query.h>
#include <sfagent/config.h>
#include <sfagent/login.h>
#include <sfagent/sync.h>
#include <sfagent/describe.h>
#include <sfagent/daemon.h>
#include <sfagent/health.h>

#endif
