# A pool of infermesh workers for one model deployment. Each worker follows
# models/<model>/deployments/<deployment> in Consul KV and hot-swaps promoted versions, so
# promoting a model is `infermesh models promote`, not a job redeploy.
#
# Catalog registration: this job registers the workers through Nomad's service block (with a
# grpc.health.v1 check). Alternatively drop the service block and pass --register to let each
# worker register itself, which also keeps a `version` meta current on every swap.
#
#   nomad job run -var model=churn -var deployment=prod deploy/nomad/infermesh-worker.nomad.hcl

variable "model" {
  type        = string
  description = "Model name in the registry."
}

variable "deployment" {
  type    = string
  default = "prod"
}

variable "instances" {
  type    = number
  default = 2
}

variable "infermesh_command" {
  type        = string
  default     = "infermesh"
  description = "Path of the infermesh CLI on the client nodes."
}

job "infermesh-worker" {
  type = "service"

  group "workers" {
    count = var.instances

    network {
      port "grpc" {}
      port "metrics" {}
    }

    update {
      max_parallel     = 1
      health_check     = "checks"
      min_healthy_time = "5s"
    }

    service {
      name     = "infermesh-worker"
      provider = "consul"
      port     = "grpc"
      tags     = [var.model, var.deployment]
      meta {
        model      = var.model
        deployment = var.deployment
      }
      check {
        name     = "grpc.health.v1"
        type     = "grpc"
        port     = "grpc"
        interval = "2s"
        timeout  = "1s"
      }
    }

    service {
      name     = "infermesh-worker-metrics"
      provider = "consul"
      port     = "metrics"
      tags     = ["prometheus", var.model]
    }

    task "worker" {
      driver = "raw_exec"

      config {
        command = var.infermesh_command
        args = [
          "worker",
          "--model", var.model,
          "--deployment", var.deployment,
          "--host", "${NOMAD_IP_grpc}",
          "--port", "${NOMAD_PORT_grpc}",
          "--metrics-port", "${NOMAD_PORT_metrics}",
          "--artifact-cache-dir", "${NOMAD_ALLOC_DIR}/artifacts",
        ]
      }

      env {
        CONSUL_HTTP_ADDR = "http://${attr.unique.network.ip-address}:8500"
      }

      # SIGTERM drains in-flight calls for up to --shutdown-grace-ms (10 s): give it longer.
      kill_signal  = "SIGTERM"
      kill_timeout = "15s"

      resources {
        cpu    = 500
        memory = 512
      }
    }
  }
}
