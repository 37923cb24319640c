import OrchestratorCore

await OrchestratorService.main()
