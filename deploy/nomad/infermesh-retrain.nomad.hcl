# EXAMPLE: a periodic retraining job for one model. Each launch
#   1. trains: runs `train_command` with an empty output directory (here: the repository's fixture
#      generator, which writes a small logistic-regression ONNX model; put your training entrypoint here),
#   2. stores the artifact under artifact_dir/<model>/<version>.onnx (never overwritten),
#   3. publishes it as an immutable version named after the launch time (e.g. 20261203T030000Z):
#        infermesh models publish MODEL VERSION --uri file://… --metadata {"trainedBy": …}
#   4. promotes it to the `promote_to` deployment (canary by default):
#        infermesh models promote MODEL canary VERSION
# The workers of that deployment (an infermesh-worker job with deployment=canary) hot-swap to it
# within seconds; an experiment between the prod and canary deployments compares it with production.
# Promoting further or rolling back stays an operator's decision (deploy/nomad/README.md):
#   infermesh models promote MODEL prod VERSION
#   infermesh models rollback MODEL canary
#
#   nomad job run -var model=churn deploy/nomad/infermesh-retrain.nomad.hcl
#   nomad job periodic force infermesh-retrain-churn     # one launch now, outside the schedule

variable "model" {
  type        = string
  description = "Model name in the registry."
}

variable "cron" {
  type        = string
  default     = "0 3 * * *"
  description = "When to retrain (cron syntax, in time_zone): daily at 03:00 by default."
}

variable "time_zone" {
  type        = string
  default     = "UTC"
  description = "Time zone of the cron expression."
}

variable "promote_to" {
  type        = string
  default     = "canary"
  description = "Deployment each new version is promoted to. Not prod: a new version earns production through the canary."
}

variable "artifact_dir" {
  type        = string
  default     = "/srv/infermesh/artifacts"
  description = "Directory the artifacts are kept in, readable by every worker node under the same path (a shared volume). For object storage, replace the copy step by an upload and publish its https:// URI with --sha256."
}

variable "train_command" {
  type        = list(string)
  default     = ["npm", "--prefix", "/opt/infermesh", "run", "gen:fixtures", "--"]
  description = "Training program and arguments; it is called with one more argument, an empty output directory, and must write artifact_file there."
}

variable "artifact_file" {
  type        = string
  default     = "logistic.onnx"
  description = "File the training command writes into its output directory."
}

variable "train_cpu" {
  type        = number
  default     = 1000
  description = "CPU reserved for training, MHz."
}

variable "train_memory" {
  type        = number
  default     = 1024
  description = "Memory reserved for training, MiB."
}

variable "infermesh_command" {
  type        = list(string)
  default     = ["infermesh"]
  description = "Program and leading arguments that start the infermesh CLI on the client node, e.g. [\"node\", \"/opt/infermesh/packages/cli/bin/infermesh.mjs\"]."
}

variable "consul_address" {
  type        = string
  default     = "http://127.0.0.1:8500"
  description = "HTTP address of the Consul agent holding the registry: the node's local agent by default."
}

variable "kv_prefix" {
  type        = string
  default     = "infermesh/"
  description = "Consul KV prefix of the registry (the same for gateways, workers, aggregator and CLI)."
}

locals {
  job_id = "infermesh-retrain-${var.model}"
}

job "infermesh-retrain" {
  id   = local.job_id
  name = local.job_id
  type = "batch"

  periodic {
    crons     = [var.cron]
    time_zone = var.time_zone
    # A slow training run delays the next launch instead of racing it to the same deployment.
    prohibit_overlap = true
  }

  group "retrain" {
    restart {
      attempts = 2
      interval = "1h"
      delay    = "30s"
      mode     = "fail"
    }

    task "train" {
      driver = "raw_exec"

      lifecycle {
        hook    = "prestart"
        sidecar = false
      }

      config {
        command = var.train_command[0]
        args    = concat(slice(var.train_command, 1, length(var.train_command)), ["${NOMAD_ALLOC_DIR}/data/trained"])
      }

      resources {
        cpu    = var.train_cpu
        memory = var.train_memory
      }
    }

    task "publish" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = concat(["${NOMAD_TASK_DIR}/publish.sh"], var.infermesh_command)
      }

      env {
        MODEL          = var.model
        PROMOTE_TO     = var.promote_to
        ARTIFACT_DIR   = var.artifact_dir
        ARTIFACT_FILE  = var.artifact_file
        REGISTRY_FLAGS = "--consul ${var.consul_address} --kv-prefix ${var.kv_prefix}"
      }

      template {
        destination = "${NOMAD_TASK_DIR}/publish.sh"
        data        = <<-EOT
          #!/bin/sh
          # Arguments: the infermesh command. Publishes the trained artifact and promotes it.
          set -eu

          # A periodic launch is the child job <job>/periodic-<unix seconds of the launch>: the version
          # is named after the launch, so a retried launch finds its own version instead of making another.
          launch="$${NOMAD_JOB_ID##*/periodic-}"
          case "$launch" in
            "" | *[!0-9]*) launch="$(date -u +%s)" ;;
          esac
          version="$(date -u -d "@$launch" +%Y%m%dT%H%M%SZ)"

          artifact="$ARTIFACT_DIR/$MODEL/$version.onnx"
          if [ ! -e "$artifact" ]; then
            mkdir -p "$ARTIFACT_DIR/$MODEL"
            # Copy under another name, then rename: nobody ever reads a half-written artifact.
            cp "$NOMAD_ALLOC_DIR/data/trained/$ARTIFACT_FILE" "$artifact.partial"
            mv "$artifact.partial" "$artifact"
          fi

          status=0
          # shellcheck disable=SC2086 # REGISTRY_FLAGS holds several flags
          "$@" models publish "$MODEL" "$version" --uri "file://$artifact" $REGISTRY_FLAGS \
            --metadata "{\"trainedBy\":\"$NOMAD_JOB_ID\",\"allocation\":\"$NOMAD_ALLOC_ID\"}" || status=$?
          # Exit code 3: the version exists, published by an earlier attempt of this launch.
          [ "$status" -eq 0 ] || [ "$status" -eq 3 ] || exit "$status"

          # shellcheck disable=SC2086
          "$@" models promote "$MODEL" "$PROMOTE_TO" "$version" $REGISTRY_FLAGS
        EOT
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
